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
  std::vector<double> level_mass;               // per lane and level: posterior mass of the clean symbols
};

}  // namespace

UnitMeasures run_phase_unit(const PhaseConfig& config, int L, uint64_t grammar_seed, size_t noise_index) {
  const GrammarParams params{config.v, config.n_classes, config.m, config.s, L, grammar_seed};
  const Grammar grammar = make_random_grammar(params);
  const NoiseSpec noise{config.channel, config.noise[noise_index].level};
  const int64_t d = sequence_length(params);
  const int64_t leaf_begin = level_offset(params, L);
  const int levels = L + 1;
  const int64_t N = config.samples;
  const int T = config.trajectories;
  const uint64_t seed = sample_seed(config, grammar_seed);

  UnitMeasures measures;
  measures.agreement.resize(static_cast<size_t>(N * levels));
  measures.mass.resize(static_cast<size_t>(N * levels));
  measures.kept.assign(static_cast<size_t>(levels), {std::vector<double>(static_cast<size_t>(N)), std::vector<double>(static_cast<size_t>(N))});
  measures.changed = measures.kept;
  // Every (sample n, trajectory t) is one item j = n·T + t, denoised in one lane.
  // Batches are formed from item indices (never from threads), so the results are
  // the same for any thread count; each item writes only its own slots, and the
  // items of one sample are combined after the loop, in trajectory order.
  const int64_t items = N * T;
  std::vector<double> item_agreement(static_cast<size_t>(items * levels)), item_mass(item_agreement.size());
  std::vector<uint8_t> item_kept(static_cast<size_t>(items));
  // changed[ℓ][j·s^ℓ + i] = 1 when item j changed position i of level ℓ.
  std::vector<std::vector<uint8_t>> changed(static_cast<size_t>(levels));
  for (int level = 0; level <= L; ++level)
    changed[static_cast<size_t>(level)].resize(static_cast<size_t>(items * nodes_at_level(params, level)));
  const BatchPlan plan(grammar, noise);
  const auto tree_nodes = static_cast<size_t>(tree_size(params));
  const int64_t batches = (items + kBatchLanes - 1) / kBatchLanes;
  parallel_for_with_state(
      batches,
      [&] {
        return Workspace{BatchMessages(plan),
                         std::vector<std::vector<uint32_t>>(kBatchLanes, std::vector<uint32_t>(tree_nodes)),
                         std::vector<std::vector<uint32_t>>(kBatchLanes, std::vector<uint32_t>(tree_nodes)),
                         std::vector<uint32_t>(static_cast<size_t>(d)),
                         std::vector<double>(config.channel == Channel::gaussian ? static_cast<size_t>(d * config.v) : 0),
                         {},
                         std::vector<double>(static_cast<size_t>(kBatchLanes * levels))};
      },
      [&](Workspace& work, int64_t batch_index) {
        if (interrupted()) return;  // the caller discards an interrupted unit
        const int64_t first = batch_index * kBatchLanes;
        const int lanes = static_cast<int>(std::min<int64_t>(kBatchLanes, items - first));
        // Trajectory 0 keeps the streams of a run without trajectories.
        auto stream = [&](int64_t j) { return noise_index | (static_cast<uint64_t>(j % T) << 32); };
        clear_batch(work.batch);
        for (int l = 0; l < lanes; ++l) {
          const int64_t j = first + l, n = j / T;
          auto& clean = work.clean[static_cast<size_t>(l)];
          sample_tree(grammar, seed, n, clean);
          const std::span<const uint32_t> tokens(clean.data() + leaf_begin, static_cast<size_t>(d));
          RandomStream noise_random(seed, RandomDomain::noise, static_cast<uint64_t>(n), stream(j));
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
        work.posterior_random.clear();
        for (int l = 0; l < lanes; ++l) {
          const int64_t j = first + l;
          work.posterior_random.emplace_back(seed, RandomDomain::posterior, static_cast<uint64_t>(j / T), stream(j));
        }
        std::vector<std::span<uint32_t>> denoised(work.denoised.begin(), work.denoised.begin() + lanes);
        const std::vector<std::span<const uint32_t>> clean_trees(work.clean.begin(), work.clean.begin() + lanes);
        batch_downward_sample_and_mass(plan, work.batch, work.posterior_random, denoised, clean_trees,
                                       std::span<double>(work.level_mass).first(static_cast<size_t>(lanes * levels)));
        for (int l = 0; l < lanes; ++l) {
          const int64_t j = first + l;
          const auto& clean = work.clean[static_cast<size_t>(l)];
          const auto& sample = denoised[static_cast<size_t>(l)];
          item_kept[static_cast<size_t>(j)] = sample[0] == clean[0];
          for (int level = 0; level <= L; ++level) {
            const int64_t count = nodes_at_level(params, level);
            const int64_t begin = level_offset(params, level);
            uint8_t* changes = changed[static_cast<size_t>(level)].data() + j * count;
            int64_t same = 0;
            for (int64_t i = 0; i < count; ++i) {
              const bool kept = sample[static_cast<size_t>(begin + i)] == clean[static_cast<size_t>(begin + i)];
              same += kept;
              changes[i] = !kept;
            }
            const double mass = work.level_mass[static_cast<size_t>(l * levels + level)];
            item_agreement[static_cast<size_t>(j * levels + level)] = static_cast<double>(same) / static_cast<double>(count);
            item_mass[static_cast<size_t>(j * levels + level)] = mass / static_cast<double>(count);
          }
        }
      });
  if (interrupted()) return measures;
  for (int64_t n = 0; n < N; ++n)
    for (int t = 0; t < T; ++t) {
      const int64_t j = n * T + t;
      for (int level = 0; level <= L; ++level) {
        const auto slot = static_cast<size_t>(n * levels + level);
        const double agreement = item_agreement[static_cast<size_t>(j * levels + level)];
        measures.agreement[slot] += agreement / T;
        measures.mass[slot] += item_mass[static_cast<size_t>(j * levels + level)] / T;
        auto& outcome = item_kept[static_cast<size_t>(j)] ? measures.kept[static_cast<size_t>(level)]
                                                          : measures.changed[static_cast<size_t>(level)];
        outcome.count[static_cast<size_t>(n)] += 1;
        outcome.agreement_sum[static_cast<size_t>(n)] += agreement;
      }
    }
  // Levels in parallel: each level's terms are a function of its own patterns.
  measures.changes.resize(static_cast<size_t>(levels));
  parallel_for(levels, [&](int64_t level) {
    measures.changes[static_cast<size_t>(level)] =
        change_terms(changed[static_cast<size_t>(level)], N, T, config.s, static_cast<int>(level));
  });
  return measures;
}

PhaseRow level_row(int L, size_t noise_index, int level, const std::vector<UnitMeasures>& per_grammar,
                   std::vector<double> agreement, std::vector<double> mass, int64_t samples, int trajectories) {
  PhaseRow row;
  row.L = L;
  row.noise_index = noise_index;
  row.level = level;
  row.samples = samples;
  row.grammars = static_cast<int64_t>(per_grammar.size());
  row.agreement = estimate_mean(agreement);
  row.posterior_mass = estimate_mean(mass);
  std::vector<const OutcomeSums*> kept, changed;
  std::vector<const ChangeTerms*> changes;
  for (const auto& unit : per_grammar) {
    kept.push_back(&unit.kept[static_cast<size_t>(level)]);
    changed.push_back(&unit.changed[static_cast<size_t>(level)]);
    changes.push_back(&unit.changes[static_cast<size_t>(level)]);
  }
  const int64_t total = samples * trajectories * row.grammars;
  row.kept = combine_outcome(kept, total);
  row.changed = combine_outcome(changed, total);
  row.changes = combine_changes(changes);
  return row;
}

std::vector<PhaseRow> summarise(int L, size_t noise_index, const std::vector<UnitMeasures>& per_grammar, int64_t samples,
                                int trajectories) {
  std::vector<PhaseRow> rows;
  const int levels = L + 1;
  for (int level = 0; level <= L; ++level) {
    auto column = [&](const std::vector<double>& values, int64_t n) { return values[static_cast<size_t>(n * levels + level)]; };
    std::vector<double> agreement, mass;
    if (per_grammar.size() == 1) {
      for (int64_t n = 0; n < samples; ++n) {
        agreement.push_back(column(per_grammar[0].agreement, n));
        mass.push_back(column(per_grammar[0].mass, n));
      }
    } else {
      for (const auto& unit : per_grammar) {
        double a = 0, m = 0;
        for (int64_t n = 0; n < samples; ++n) {
          a += column(unit.agreement, n);
          m += column(unit.mass, n);
        }
        agreement.push_back(a / static_cast<double>(samples));
        mass.push_back(m / static_cast<double>(samples));
      }
    }
    rows.push_back(level_row(L, noise_index, level, per_grammar, std::move(agreement), std::move(mass), samples, trajectories));
  }
  return rows;
}

}  // namespace hdiff
