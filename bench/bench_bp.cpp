// Speed of exact BP for the paper's grammar v = 32, m = 8, s = 2, uniform ε = 0.2
// unless named otherwise. A full sweep is upward + downward + one posterior
// sample per observation; `samples/s` counts observations, `node-samples/s`
// observations × internal nodes (flat when there is no cache cliff).
// BM_Sweep* and BM_UpwardSample run the batch path (kBatchLanes observations per
// batch; the sweep fuses the downward pass with sampling and keeps every message
// for later reads: batch_downward_and_sample). BM_SweepMass runs the sweep of
// `hdiff phase` instead: every node's marginal is summed into the posterior mass
// of the clean tree at each level inside the pass, and the deep messages are not
// kept (batch_downward_sample_and_mass). BM_Reference* run the same work on the
// double reference path, one observation at a time.

#include <benchmark/benchmark.h>

#include <algorithm>

#include "bp/batch_bp.h"
#include "grammar/sampling.h"
#include "noise/channel.h"

namespace hdiff {
namespace {

// A grammar and kBatchLanes noisy observations of its samples.
struct Prepared {
  Grammar grammar;
  NoiseSpec noise;
  std::vector<std::vector<uint32_t>> tokens;
  std::vector<std::vector<double>> values;
  std::vector<std::vector<uint32_t>> clean;  // the sampled trees
};

// Observations of 2^18 leaves in all (at least one batch): iterations go through
// them batch by batch, so that neither the caches nor the branch predictors hold
// a batch's inputs from the iteration before, as in a run, where every batch is
// new (replaying one batch of a shallow tree made its branches predictable).
Prepared prepare(int L, NoiseSpec noise) {
  Prepared prepared{make_random_grammar({32, 32, 8, 2, L, 0}), noise, {}, {}, {}};
  const auto& p = prepared.grammar.params;
  const int64_t observations = std::max<int64_t>(kBatchLanes, (int64_t{1} << 18) / sequence_length(p));
  std::vector<uint32_t> tree(static_cast<size_t>(tree_size(p)));
  for (int64_t n = 0; n < observations; ++n) {
    sample_tree(prepared.grammar, 0, n, tree);
    prepared.clean.push_back(tree);
    const std::span<const uint32_t> clean = std::span<const uint32_t>(tree).subspan(static_cast<size_t>(level_offset(p, L)));
    RandomStream random(0, RandomDomain::noise, static_cast<uint64_t>(n));
    if (noise.channel == Channel::gaussian) {
      prepared.values.emplace_back(clean.size() * static_cast<size_t>(p.v));
      corrupt_gaussian(noise, p.v, clean, random, prepared.values.back());
    } else {
      prepared.tokens.emplace_back(clean.size());
      corrupt_tokens(noise, p.v, clean, random, prepared.tokens.back());
    }
  }
  return prepared;
}

void set_counters(benchmark::State& state, const GrammarParams& p, double samples_per_iteration) {
  const double samples = samples_per_iteration * static_cast<double>(state.iterations());
  state.counters["samples/s"] = benchmark::Counter(samples, benchmark::Counter::kIsRate);
  state.counters["node-samples/s"] =
      benchmark::Counter(samples * static_cast<double>(internal_nodes(p)), benchmark::Counter::kIsRate);
}

// What a batch does after the upward pass.
enum class After { sample, downward_keep_and_sample, downward_sample_and_mass };

// One batch: load, upward, [downward], one posterior sample per lane.
void run_batch(benchmark::State& state, const Prepared& prepared, After after) {
  const auto& p = prepared.grammar.params;
  const BatchPlan plan(prepared.grammar, prepared.noise);
  BatchMessages batch(plan);
  std::vector<std::vector<uint32_t>> trees(kBatchLanes, std::vector<uint32_t>(static_cast<size_t>(tree_size(p))));
  std::vector<std::span<uint32_t>> tree_spans(trees.begin(), trees.end());
  std::vector<RandomStream> randoms;
  const std::vector<std::span<const uint32_t>> clean_trees(prepared.clean.begin(), prepared.clean.end());
  std::vector<double> level_mass(static_cast<size_t>(kBatchLanes * (p.L + 1)));
  uint64_t draw = 0;
  const auto batches = static_cast<int64_t>(prepared.clean.size()) / kBatchLanes;
  int64_t next = 0;
  for (auto _ : state) {
    clear_batch(batch);
    const int64_t first = kBatchLanes * (next++ % batches);
    for (int l = 0; l < kBatchLanes; ++l) {
      if (prepared.noise.channel == Channel::gaussian)
        load_gaussian(plan, batch, prepared.values[static_cast<size_t>(first + l)]);
      else
        load_tokens(plan, batch, prepared.tokens[static_cast<size_t>(first + l)]);
    }
    batch_upward(plan, batch);
    randoms.clear();
    for (int l = 0; l < kBatchLanes; ++l) randoms.emplace_back(1, RandomDomain::posterior, draw++);
    if (after == After::downward_sample_and_mass)
      batch_downward_sample_and_mass(plan, batch, randoms, tree_spans,
                                     std::span(clean_trees).subspan(static_cast<size_t>(first), kBatchLanes), level_mass);
    else if (after == After::downward_keep_and_sample)
      batch_downward_and_sample(plan, batch, randoms, tree_spans);
    else
      batch_sample_posteriors(plan, batch, randoms, tree_spans);
    benchmark::DoNotOptimize(trees[0].data());
    benchmark::DoNotOptimize(level_mass.data());
  }
  set_counters(state, p, kBatchLanes);
  state.SetLabel(batch_kernel_name());
}

void BM_Sweep(benchmark::State& state) {
  run_batch(state, prepare(static_cast<int>(state.range(0)), {Channel::uniform, 0.2}), After::downward_keep_and_sample);
}
BENCHMARK(BM_Sweep)->Arg(4)->Arg(8)->Arg(12)->Arg(14)->Unit(benchmark::kMicrosecond);

void BM_SweepMass(benchmark::State& state) {
  run_batch(state, prepare(static_cast<int>(state.range(0)), {Channel::uniform, 0.2}), After::downward_sample_and_mass);
}
BENCHMARK(BM_SweepMass)->Arg(4)->Arg(8)->Arg(12)->Arg(14)->Unit(benchmark::kMicrosecond);

void BM_UpwardSample(benchmark::State& state) {
  run_batch(state, prepare(static_cast<int>(state.range(0)), {Channel::uniform, 0.2}), After::sample);
}
BENCHMARK(BM_UpwardSample)->Arg(4)->Arg(8)->Arg(12)->Arg(14)->Unit(benchmark::kMicrosecond);

void BM_SweepMask(benchmark::State& state) {
  run_batch(state, prepare(static_cast<int>(state.range(0)), {Channel::mask, 0.5}), After::downward_keep_and_sample);
}
BENCHMARK(BM_SweepMask)->Arg(8)->Unit(benchmark::kMicrosecond);

void BM_SweepGaussian(benchmark::State& state) {
  run_batch(state, prepare(static_cast<int>(state.range(0)), {Channel::gaussian, 0.5}), After::downward_keep_and_sample);
}
BENCHMARK(BM_SweepGaussian)->Arg(8)->Unit(benchmark::kMicrosecond);

// The double reference path on one observation (what BM_Sweep measured before
// the batch path), with or without the downward pass.
void run_reference(benchmark::State& state, NoiseSpec noise, bool downward) {
  const Prepared prepared = prepare(static_cast<int>(state.range(0)), noise);
  const auto& p = prepared.grammar.params;
  TreeMessages messages(p);
  std::vector<uint32_t> tree(static_cast<size_t>(tree_size(p)));
  uint64_t draw = 0;
  for (auto _ : state) {
    messages.leaf_log_scale = noise.channel == Channel::gaussian
                                  ? gaussian_likelihoods(noise, p.v, prepared.values[0], messages.leaves())
                                  : token_likelihoods(noise, p.v, prepared.tokens[0], messages.leaves());
    upward_messages(prepared.grammar, messages);
    if (downward) downward_messages(prepared.grammar, messages);
    RandomStream random(1, RandomDomain::posterior, draw++);
    sample_posterior(prepared.grammar, messages, random, tree);
    benchmark::DoNotOptimize(tree.data());
  }
  set_counters(state, p, 1);
}

void BM_ReferenceSweep(benchmark::State& state) { run_reference(state, {Channel::uniform, 0.2}, true); }
BENCHMARK(BM_ReferenceSweep)->Arg(4)->Arg(8)->Arg(12)->Arg(14)->Unit(benchmark::kMicrosecond);

void BM_ReferenceUpwardSample(benchmark::State& state) { run_reference(state, {Channel::uniform, 0.2}, false); }
BENCHMARK(BM_ReferenceUpwardSample)->Arg(4)->Arg(8)->Arg(12)->Arg(14)->Unit(benchmark::kMicrosecond);

void BM_ReferenceSweepMask(benchmark::State& state) { run_reference(state, {Channel::mask, 0.5}, true); }
BENCHMARK(BM_ReferenceSweepMask)->Arg(8)->Unit(benchmark::kMicrosecond);

void BM_ReferenceSweepGaussian(benchmark::State& state) { run_reference(state, {Channel::gaussian, 0.5}, true); }
BENCHMARK(BM_ReferenceSweepGaussian)->Arg(8)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hdiff

BENCHMARK_MAIN();
