#include "experiment/phase.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "bp/batch_bp.h"
#include "bp/belief_propagation.h"
#include "common/error.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "common/random.h"
#include "grammar/sampling.h"

namespace hdiff {
namespace {

// One thread's buffers for a batch of kBatchLanes samples.
struct Workspace {
  BatchMessages batch;
  std::vector<std::vector<uint32_t>> clean;     // per lane: tree of the clean sample
  std::vector<std::vector<uint32_t>> denoised;  // per lane: tree of the posterior sample
  std::vector<uint32_t> observed;               // discrete observations of one sample
  std::vector<double> values;                   // gaussian observations of one sample
  std::vector<RandomStream> posterior_random;   // per lane
  std::vector<double> level_mass;               // per lane and level: posterior mass of the clean symbols
  std::vector<double> marginals;                // one level's marginals of one lane
  std::vector<double> parents;                  // level L-1's marginals of one lane
  std::vector<double> likelihoods;              // the leaf likelihoods of one lane
  std::optional<TreeMessages> messages;         // the double path's (precision double)
};

}  // namespace

// Stream indices: the same sample index n gives the same clean sample x_0 at every
// noise point (common random numbers make the curves smoother than independent
// draws would), while noise and posterior draws differ per noise point.
uint64_t phase_sample_seed(const PhaseConfig& config, uint64_t grammar_seed) {
  return mix64(config.seed ^ mix64(grammar_seed));
}

UnitMeasures run_phase_unit(const PhaseConfig& config, int L, uint64_t grammar_seed, size_t noise_index) {
  const GrammarParams params{config.v, config.n_classes, config.m, config.s, L, grammar_seed};
  const Grammar grammar = make_random_grammar(params);
  const NoiseSpec noise{config.channel, config.noise[noise_index].level};
  const int64_t d = sequence_length(params);
  const int64_t leaf_begin = level_offset(params, L);
  const int levels = L + 1;
  const int64_t N = config.samples;
  const int T = config.trajectories;
  const uint64_t seed = phase_sample_seed(config, grammar_seed);
  const bool exact_double = config.precision == Precision::float64;

  UnitMeasures measures;
  measures.agreement.resize(static_cast<size_t>(N * levels));
  measures.mass.resize(static_cast<size_t>(N * levels));
  const int64_t K = information_sample_count(config);
  measures.entropy.resize(static_cast<size_t>(K * levels));
  measures.cross_entropy.resize(static_cast<size_t>(K * levels));
  measures.same_symbol.resize(static_cast<size_t>(K * levels));
  measures.prior_entropy = prior_level_entropy(grammar);
  measures.kept.assign(static_cast<size_t>(levels), {std::vector<double>(static_cast<size_t>(N)), std::vector<double>(static_cast<size_t>(N))});
  measures.changed = measures.kept;
  // Every (sample n, trajectory t) is one item j = n·T + t, denoised in one lane.
  // Batches are formed from item indices (never from threads), so the results are
  // the same for any thread count; each item writes only its own slots, and the
  // items of one sample are combined after the loop, in trajectory order. The
  // first batches hold the first trajectories of the first K samples, whose x_t
  // also gives the information measures: they keep every downward message for
  // the marginals (a lane's numbers do not depend on its batch, nor on the
  // pass, batch_bp.h); the other items take the fused pass. The information
  // costs several BP passes per sample (all marginals, a log per symbol), hence K.
  const int64_t items = N * T;
  std::vector<double> item_agreement(static_cast<size_t>(items * levels)), item_mass(item_agreement.size());
  std::vector<uint8_t> item_kept(static_cast<size_t>(items));
  // changed[ℓ][j·s^ℓ + i] = 1 when item j changed position i of level ℓ.
  std::vector<std::vector<uint8_t>> changed(static_cast<size_t>(levels));
  for (int level = 0; level <= L; ++level)
    changed[static_cast<size_t>(level)].resize(static_cast<size_t>(items * nodes_at_level(params, level)));
  const BatchPlan plan(grammar, noise);
  const auto tree_nodes = static_cast<size_t>(tree_size(params));
  const int64_t first_batches = (K + kBatchLanes - 1) / kBatchLanes;
  const int64_t later_items = items - K;
  const int64_t batches = first_batches + (later_items + kBatchLanes - 1) / kBatchLanes;
  int64_t largest_level = 0;
  for (int level = 0; level <= L; ++level)
    largest_level = std::max(largest_level, nodes_at_level(params, level) * symbols_at_level(params, level));
  // The item of lane l of batch b, or −1 past the last item: first the first
  // trajectories of samples n < K, then the other trajectories of those, then
  // every trajectory of the samples n ≥ K.
  const auto item_of = [&](int64_t b, int l) -> int64_t {
    if (b < first_batches) {
      const int64_t n = b * kBatchLanes + l;
      return n < K ? n * T : -1;
    }
    const int64_t k = (b - first_batches) * kBatchLanes + l;
    if (k >= later_items) return -1;
    if (k < K * (T - 1)) return (k / (T - 1)) * T + 1 + k % (T - 1);
    return K * T + (k - K * (T - 1));
  };
  parallel_for_with_state(
      batches,
      [&] {
        Workspace work{
            BatchMessages(plan),
            std::vector<std::vector<uint32_t>>(kBatchLanes, std::vector<uint32_t>(tree_nodes)),
            std::vector<std::vector<uint32_t>>(kBatchLanes, std::vector<uint32_t>(tree_nodes)),
            std::vector<uint32_t>(static_cast<size_t>(d)),
            std::vector<double>(config.channel == Channel::gaussian ? static_cast<size_t>(d * config.v) : 0),
            {},
            std::vector<double>(static_cast<size_t>(kBatchLanes * levels)),
            std::vector<double>(static_cast<size_t>(largest_level)),
            std::vector<double>(static_cast<size_t>(nodes_at_level(params, L - 1) * symbols_at_level(params, L - 1))),
            std::vector<double>(static_cast<size_t>(d * config.v)),
            std::nullopt};
        if (exact_double) work.messages.emplace(params);
        return work;
      },
      [&](Workspace& work, int64_t batch_index) {
        if (interrupted()) return;  // the caller discards an interrupted unit
        const bool first_trajectories = batch_index < first_batches;
        int lanes = 0;
        while (lanes < kBatchLanes && item_of(batch_index, lanes) >= 0) ++lanes;
        // Trajectory 0 keeps the streams of a run without trajectories.
        auto stream = [&](int64_t j) { return noise_index | (static_cast<uint64_t>(j % T) << 32); };
        // The clean sample and the noisy observation of lane l, into work.observed or work.values.
        auto observe = [&](int l) {
          const int64_t j = item_of(batch_index, l), n = j / T;
          auto& clean = work.clean[static_cast<size_t>(l)];
          sample_tree(grammar, seed, n, clean);
          const std::span<const uint32_t> tokens(clean.data() + leaf_begin, static_cast<size_t>(d));
          RandomStream noise_random(seed, RandomDomain::noise, static_cast<uint64_t>(n), stream(j));
          if (config.channel == Channel::gaussian)
            corrupt_gaussian(noise, config.v, tokens, noise_random, work.values);
          else
            corrupt_tokens(noise, config.v, tokens, noise_random, work.observed);
        };
        work.posterior_random.clear();
        for (int l = 0; l < lanes; ++l) {
          const int64_t j = item_of(batch_index, l);
          work.posterior_random.emplace_back(seed, RandomDomain::posterior, static_cast<uint64_t>(j / T), stream(j));
        }
        // The information of lane l's level `level` from its marginals in work.marginals.
        auto add_information = [&](int l, int level) {
          const int64_t n = item_of(batch_index, l) / T;
          const int64_t begin = level_offset(params, level), count = nodes_at_level(params, level);
          const int symbols = symbols_at_level(params, level);
          NodeInformation sums;
          add_level_information(std::span<const double>(work.marginals).first(static_cast<size_t>(count * symbols)),
                                std::span<const uint32_t>(work.clean[static_cast<size_t>(l)])
                                    .subspan(static_cast<size_t>(begin), static_cast<size_t>(count)),
                                symbols, sums, config.precision);
          const auto slot = static_cast<size_t>(n * levels + level);
          measures.entropy[slot] = sums.entropy;
          measures.cross_entropy[slot] = sums.cross_entropy;
          measures.same_symbol[slot] = sums.same_symbol;
        };
        if (exact_double) {
          // The double reference path, one lane at a time.
          TreeMessages& messages = *work.messages;
          for (int l = 0; l < lanes; ++l) {
            observe(l);
            messages.leaf_log_scale = config.channel == Channel::gaussian
                                          ? gaussian_likelihoods(noise, config.v, work.values, messages.leaves())
                                          : token_likelihoods(noise, config.v, work.observed, messages.leaves());
            upward_messages(grammar, messages);
            downward_messages(grammar, messages);
            sample_posterior(grammar, messages, work.posterior_random[static_cast<size_t>(l)],
                             work.denoised[static_cast<size_t>(l)]);
            const auto& clean = work.clean[static_cast<size_t>(l)];
            for (int level = 0; level <= L; ++level) {
              const int64_t begin = level_offset(params, level), count = nodes_at_level(params, level);
              const int symbols = symbols_at_level(params, level);
              const std::span<double> out =
                  std::span<double>(work.marginals).first(static_cast<size_t>(count * symbols));
              node_marginals(grammar, messages, level, out);
              double mass = 0;
              for (int64_t i = 0; i < count; ++i)
                mass += out[static_cast<size_t>(i * symbols + clean[static_cast<size_t>(begin + i)])];
              work.level_mass[static_cast<size_t>(l * levels + level)] = mass;
              if (first_trajectories) add_information(l, level);
            }
          }
        } else {
          clear_batch(work.batch);
          for (int l = 0; l < lanes; ++l) {
            observe(l);
            if (config.channel == Channel::gaussian)
              load_gaussian(plan, work.batch, work.values);
            else
              load_tokens(plan, work.batch, work.observed);
          }
          batch_upward(plan, work.batch);
          for (int l = 0; l < lanes; ++l)
            if (!lane_error(work.batch, l).empty()) fail("{}", lane_error(work.batch, l));
          std::vector<std::span<uint32_t>> denoised(work.denoised.begin(), work.denoised.begin() + lanes);
          const std::vector<std::span<const uint32_t>> clean_trees(work.clean.begin(), work.clean.begin() + lanes);
          if (first_trajectories) {
            batch_downward(plan, work.batch);
            batch_sample_posteriors(plan, work.batch, work.posterior_random, denoised);
            for (int l = 0; l < lanes; ++l)
              for (int level = 0; level <= L; ++level) {
                const int64_t begin = level_offset(params, level), count = nodes_at_level(params, level);
                work.level_mass[static_cast<size_t>(l * levels + level)] =
                    batch_level_mass(plan, work.batch, l, level,
                                     clean_trees[static_cast<size_t>(l)].subspan(static_cast<size_t>(begin),
                                                                                 static_cast<size_t>(count)));
                const auto size = static_cast<size_t>(count * symbols_at_level(params, level));
                if (level < L) {
                  // Level L-1's marginals stay in work.parents for the leaves'.
                  batch_marginals(plan, work.batch, l, level,
                                  std::span<double>(level == L - 1 ? work.parents : work.marginals).first(size));
                  if (level == L - 1)
                    std::copy(work.parents.begin(), work.parents.begin() + static_cast<std::ptrdiff_t>(size),
                              work.marginals.begin());
                } else {
                  // The leaves' from their parents' and the leaf likelihoods of the lane's observation (observed
                  // again).
                  observe(l);
                  const std::span<double> likelihoods = std::span<double>(work.likelihoods).first(size);
                  if (config.channel == Channel::gaussian)
                    gaussian_likelihoods(noise, config.v, work.values, likelihoods);
                  else
                    token_likelihoods(noise, config.v, work.observed, likelihoods);
                  leaf_marginals_from_parents(
                      grammar,
                      std::span<const double>(work.parents)
                          .first(static_cast<size_t>(nodes_at_level(params, L - 1) * symbols_at_level(params, L - 1))),
                      likelihoods, std::span<double>(work.marginals).first(size));
                }
                add_information(l, level);
              }
          } else {
            batch_downward_sample_and_mass(
                plan, work.batch, work.posterior_random, denoised, clean_trees,
                std::span<double>(work.level_mass).first(static_cast<size_t>(lanes * levels)));
          }
        }
        for (int l = 0; l < lanes; ++l) {
          const int64_t j = item_of(batch_index, l);
          const auto& clean = work.clean[static_cast<size_t>(l)];
          const auto& sample = work.denoised[static_cast<size_t>(l)];
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
    measures.changes[static_cast<size_t>(level)] = change_terms(changed[static_cast<size_t>(level)], N, T, config.s,
                                                                static_cast<int>(level), config.change_window);
  });
  return measures;
}

PhaseRow level_row(int L, size_t noise_index, int level, const std::vector<UnitMeasures>& per_grammar,
                   const LevelColumns& columns, int64_t samples, int trajectories, int64_t information_samples) {
  PhaseRow row;
  row.L = L;
  row.noise_index = noise_index;
  row.level = level;
  row.samples = samples;
  row.information_samples = information_samples;
  row.grammars = static_cast<int64_t>(per_grammar.size());
  row.agreement = estimate_mean(columns.agreement);
  row.posterior_mass = estimate_mean(columns.mass);
  std::vector<const OutcomeSums*> kept, changed;
  std::vector<const ChangeTerms*> changes;
  std::vector<double> prior;
  for (const auto& unit : per_grammar) {
    kept.push_back(&unit.kept[static_cast<size_t>(level)]);
    changed.push_back(&unit.changed[static_cast<size_t>(level)]);
    changes.push_back(&unit.changes[static_cast<size_t>(level)]);
    prior.push_back(unit.prior_entropy[static_cast<size_t>(level)]);
  }
  const int64_t total = samples * trajectories * row.grammars;
  row.kept = combine_outcome(kept, total);
  row.changed = combine_outcome(changed, total);
  row.changes = combine_changes(changes);
  row.information = summarise_information(prior, columns.entropy, columns.cross_entropy, columns.same_symbol);
  return row;
}

std::vector<PhaseRow> summarise(int L, size_t noise_index, const std::vector<UnitMeasures>& per_grammar,
                                int64_t samples, int trajectories, int64_t information_samples) {
  std::vector<PhaseRow> rows;
  const int levels = L + 1;
  for (int level = 0; level <= L; ++level) {
    auto column = [&](const std::vector<double>& values, int64_t n) { return values[static_cast<size_t>(n * levels + level)]; };
    LevelColumns columns;
    const std::pair<std::vector<double>*, std::vector<double> UnitMeasures::*> fields[] = {
        {&columns.agreement, &UnitMeasures::agreement},
        {&columns.mass, &UnitMeasures::mass},
        {&columns.entropy, &UnitMeasures::entropy},
        {&columns.cross_entropy, &UnitMeasures::cross_entropy},
        {&columns.same_symbol, &UnitMeasures::same_symbol}};
    for (const auto& [to, from] : fields) {
      // The information measures have K = information_samples samples.
      const int64_t count =
          from == &UnitMeasures::agreement || from == &UnitMeasures::mass ? samples : information_samples;
      if (per_grammar.size() == 1) {
        for (int64_t n = 0; n < count; ++n) to->push_back(column(per_grammar[0].*from, n));
      } else {
        for (const auto& unit : per_grammar) {
          double sum = 0;
          for (int64_t n = 0; n < count; ++n) sum += column(unit.*from, n);
          to->push_back(sum / static_cast<double>(count));
        }
      }
    }
    rows.push_back(level_row(L, noise_index, level, per_grammar, columns, samples, trajectories, information_samples));
  }
  return rows;
}

}  // namespace hdiff
