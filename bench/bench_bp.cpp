// Speed of exact BP: one full sweep (upward + downward + one posterior sample)
// of one observation, for the paper's grammar v = 32, m = 8, s = 2.

#include <benchmark/benchmark.h>

#include "bp/belief_propagation.h"
#include "grammar/sampling.h"
#include "noise/channel.h"

namespace hdiff {
namespace {

struct Prepared {
  Grammar grammar;
  std::vector<uint32_t> observed;
};

Prepared prepare(int L) {
  Prepared prepared{make_random_grammar({32, 32, 8, 2, L, 0}), {}};
  const auto& p = prepared.grammar.params;
  std::vector<uint32_t> tree(static_cast<size_t>(tree_size(p)));
  sample_tree(prepared.grammar, 0, 0, tree);
  prepared.observed.resize(static_cast<size_t>(sequence_length(p)));
  RandomStream random(0, RandomDomain::noise, 0);
  corrupt_tokens({Channel::uniform, 0.2}, p.v, std::span<const uint32_t>(tree).subspan(static_cast<size_t>(level_offset(p, L))),
                 random, prepared.observed);
  return prepared;
}

void BM_Sweep(benchmark::State& state) {
  const int L = static_cast<int>(state.range(0));
  const Prepared prepared = prepare(L);
  const auto& p = prepared.grammar.params;
  TreeMessages messages(p);
  std::vector<uint32_t> tree(static_cast<size_t>(tree_size(p)));
  uint64_t draw = 0;
  for (auto _ : state) {
    messages.leaf_log_scale = token_likelihoods({Channel::uniform, 0.2}, p.v, prepared.observed, messages.leaves());
    upward_messages(prepared.grammar, messages);
    downward_messages(prepared.grammar, messages);
    RandomStream random(1, RandomDomain::posterior, draw++);
    sample_posterior(prepared.grammar, messages, random, tree);
    benchmark::DoNotOptimize(tree.data());
  }
  state.counters["nodes/s"] = benchmark::Counter(static_cast<double>(internal_nodes(p)) * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Sweep)->Arg(4)->Arg(8)->Arg(12)->Unit(benchmark::kMicrosecond);

void BM_Upward(benchmark::State& state) {
  const int L = static_cast<int>(state.range(0));
  const Prepared prepared = prepare(L);
  const auto& p = prepared.grammar.params;
  TreeMessages messages(p);
  for (auto _ : state) {
    messages.leaf_log_scale = token_likelihoods({Channel::uniform, 0.2}, p.v, prepared.observed, messages.leaves());
    upward_messages(prepared.grammar, messages);
    benchmark::DoNotOptimize(messages.log_evidence);
  }
  state.counters["nodes/s"] = benchmark::Counter(static_cast<double>(internal_nodes(p)) * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Upward)->Arg(4)->Arg(8)->Arg(12)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hdiff

BENCHMARK_MAIN();
