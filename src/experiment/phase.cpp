#include "experiment/phase.h"

#include <algorithm>
#include <cmath>

#include "bp/batch_bp.h"
#include "common/error.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "common/random.h"
#include "grammar/sampling.h"

namespace hdiff {
namespace {

// Stream indices: the same sample index n gives the same clean sample x_0 at every
// noise point (common random numbers make the curves smoother than independent
// draws would), while noise and posterior draws differ per noise point.
uint64_t sample_seed(const PhaseConfig& config, uint64_t grammar_seed) { return mix64(config.seed ^ mix64(grammar_seed)); }

// One thread's buffers for a batch of kBatchLanes samples.
struct Workspace {
  BatchMessages batch;
  std::vector<std::vector<uint32_t>> clean;     // per lane: tree of the clean sample
  std::vector<std::vector<uint32_t>> denoised;  // per lane: tree of the posterior sample
  std::vector<uint32_t> observed;               // discrete observations of one sample
  std::vector<double> values;                   // gaussian observations of one sample
  std::vector<RandomStream> posterior_random;   // per lane
};

}  // namespace

UnitMeasures run_phase_unit(const PhaseConfig& config, int L, uint64_t grammar_seed, size_t noise_index) {
  const GrammarParams params{config.v, config.n_classes, config.m, config.s, L, grammar_seed};
  const Grammar grammar = make_random_grammar(params);
  const NoiseSpec noise{config.channel, config.noise[noise_index].level};
  const int64_t d = sequence_length(params);
  const int64_t leaf_begin = level_offset(params, L);
  const int levels = L + 1;
  const uint64_t seed = sample_seed(config, grammar_seed);

  UnitMeasures measures;
  measures.agreement.resize(static_cast<size_t>(config.samples * levels));
  measures.mass.resize(static_cast<size_t>(config.samples * levels));
  const BatchPlan plan(grammar, noise);
  const auto tree_nodes = static_cast<size_t>(tree_size(params));
  // Batches are formed from sample indices (never from threads), so the
  // results are the same for any thread count.
  const int64_t batches = (config.samples + kBatchLanes - 1) / kBatchLanes;
  parallel_for_with_state(
      batches,
      [&] {
        return Workspace{BatchMessages(plan),
                         std::vector<std::vector<uint32_t>>(kBatchLanes, std::vector<uint32_t>(tree_nodes)),
                         std::vector<std::vector<uint32_t>>(kBatchLanes, std::vector<uint32_t>(tree_nodes)),
                         std::vector<uint32_t>(static_cast<size_t>(d)),
                         std::vector<double>(config.channel == Channel::gaussian ? static_cast<size_t>(d * config.v) : 0),
                         {}};
      },
      [&](Workspace& work, int64_t batch_index) {
        if (interrupted()) return;  // the caller discards an interrupted unit
        const int64_t first = batch_index * kBatchLanes;
        const int lanes = static_cast<int>(std::min<int64_t>(kBatchLanes, config.samples - first));
        clear_batch(work.batch);
        for (int l = 0; l < lanes; ++l) {
          const int64_t n = first + l;
          auto& clean = work.clean[static_cast<size_t>(l)];
          sample_tree(grammar, seed, n, clean);
          const std::span<const uint32_t> tokens(clean.data() + leaf_begin, static_cast<size_t>(d));
          RandomStream noise_random(seed, RandomDomain::noise, static_cast<uint64_t>(n), noise_index);
          if (config.channel == Channel::gaussian) {
            corrupt_gaussian(noise, config.v, tokens, noise_random, work.values);
            load_gaussian(plan, work.batch, work.values);
          } else {
            corrupt_tokens(noise, config.v, tokens, noise_random, work.observed);
            load_tokens(plan, work.batch, work.observed);
          }
        }
        batch_upward(plan, work.batch);
        for (int l = 0; l < lanes; ++l)
          if (!lane_error(work.batch, l).empty()) fail("{}", lane_error(work.batch, l));
        batch_downward(plan, work.batch);
        work.posterior_random.clear();
        for (int l = 0; l < lanes; ++l)
          work.posterior_random.emplace_back(seed, RandomDomain::posterior, static_cast<uint64_t>(first + l), noise_index);
        std::vector<std::span<uint32_t>> denoised(work.denoised.begin(), work.denoised.begin() + lanes);
        batch_sample_posteriors(plan, work.batch, work.posterior_random, denoised);
        for (int l = 0; l < lanes; ++l) {
          const int64_t n = first + l;
          const auto& clean = work.clean[static_cast<size_t>(l)];
          for (int level = 0; level <= L; ++level) {
            const int64_t count = nodes_at_level(params, level);
            const int64_t begin = level_offset(params, level);
            int64_t same = 0;
            double mass = 0;
            for (int64_t i = 0; i < count; ++i) {
              const uint32_t truth = clean[static_cast<size_t>(begin + i)];
              same += denoised[static_cast<size_t>(l)][static_cast<size_t>(begin + i)] == truth;
              mass += batch_marginal_at(plan, work.batch, l, level, i, truth);
            }
            measures.agreement[static_cast<size_t>(n * levels + level)] = static_cast<double>(same) / static_cast<double>(count);
            measures.mass[static_cast<size_t>(n * levels + level)] = mass / static_cast<double>(count);
          }
        }
      });
  return measures;
}

namespace {

// Mean and standard error of the mean of `values`.
Estimate estimate(const std::vector<double>& values) {
  Estimate out;
  const auto n = static_cast<double>(values.size());
  for (double x : values) out.mean += x;
  out.mean /= n;
  if (values.size() < 2) return out;
  double squares = 0;
  for (double x : values) squares += (x - out.mean) * (x - out.mean);
  out.standard_error = std::sqrt(squares / (n - 1) / n);
  return out;
}

}  // namespace

std::vector<PhaseRow> summarise(int L, size_t noise_index, const std::vector<UnitMeasures>& per_grammar, int64_t samples) {
  std::vector<PhaseRow> rows;
  const int levels = L + 1;
  for (int level = 0; level <= L; ++level) {
    PhaseRow row;
    row.L = L;
    row.noise_index = noise_index;
    row.level = level;
    row.samples = samples;
    row.grammars = static_cast<int64_t>(per_grammar.size());
    auto column = [&](const std::vector<double>& values, int64_t n) { return values[static_cast<size_t>(n * levels + level)]; };
    if (per_grammar.size() == 1) {
      std::vector<double> agreement, mass;
      for (int64_t n = 0; n < samples; ++n) {
        agreement.push_back(column(per_grammar[0].agreement, n));
        mass.push_back(column(per_grammar[0].mass, n));
      }
      row.agreement = estimate(agreement);
      row.posterior_mass = estimate(mass);
    } else {
      std::vector<double> agreement, mass;
      for (const auto& unit : per_grammar) {
        double a = 0, m = 0;
        for (int64_t n = 0; n < samples; ++n) {
          a += column(unit.agreement, n);
          m += column(unit.mass, n);
        }
        agreement.push_back(a / static_cast<double>(samples));
        mass.push_back(m / static_cast<double>(samples));
      }
      row.agreement = estimate(agreement);
      row.posterior_mass = estimate(mass);
    }
    rows.push_back(row);
  }
  return rows;
}

PhaseResults run_phase(const PhaseConfig& config, const std::function<void(int64_t)>& on_progress) {
  PhaseResults results;
  for (int L : config.depths)
    for (size_t k = 0; k < config.noise.size(); ++k) {
      std::vector<UnitMeasures> per_grammar;
      for (uint64_t grammar_seed : config.grammar_seeds) {
        if (interrupted()) {
          results.interrupted = true;
          return results;
        }
        per_grammar.push_back(run_phase_unit(config, L, grammar_seed, k));
        if (interrupted()) {
          results.interrupted = true;
          return results;
        }
        if (on_progress) on_progress(config.samples);
      }
      for (auto& row : summarise(L, k, per_grammar, config.samples)) results.rows.push_back(row);
    }
  return results;
}

}  // namespace hdiff
