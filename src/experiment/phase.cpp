#include "experiment/phase.h"

#include <cmath>

#include "bp/belief_propagation.h"
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

struct Workspace {
  TreeMessages messages;
  std::vector<uint32_t> clean;      // tree of the clean sample
  std::vector<uint32_t> denoised;   // tree of the posterior sample
  std::vector<uint32_t> observed;   // discrete observations
  std::vector<double> values;       // gaussian observations
  std::vector<double> marginals;    // marginals of one level
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
  // changed[ℓ][(n·T + t)·s^ℓ + i] = 1 when trajectory t of sample n changed position i of level ℓ.
  std::vector<std::vector<uint8_t>> changed(static_cast<size_t>(levels));
  int64_t widest = 0;
  for (int level = 0; level <= L; ++level) {
    widest = std::max(widest, nodes_at_level(params, level) * symbols_at_level(params, level));
    changed[static_cast<size_t>(level)].resize(static_cast<size_t>(N * T * nodes_at_level(params, level)));
  }

  parallel_for_with_state(
      N,
      [&] {
        return Workspace{TreeMessages(params), std::vector<uint32_t>(static_cast<size_t>(tree_size(params))),
                         std::vector<uint32_t>(static_cast<size_t>(tree_size(params))),
                         std::vector<uint32_t>(static_cast<size_t>(d)),
                         std::vector<double>(config.channel == Channel::gaussian ? static_cast<size_t>(d * config.v) : 0),
                         std::vector<double>(static_cast<size_t>(widest))};
      },
      [&](Workspace& work, int64_t n) {
        if (interrupted()) return;  // the caller discards an interrupted unit
        sample_tree(grammar, seed, n, work.clean);
        const std::span<const uint32_t> tokens(work.clean.data() + leaf_begin, static_cast<size_t>(d));
        for (int t = 0; t < T; ++t) {
          // Trajectory 0 keeps the streams of a run without trajectories.
          const uint64_t stream = noise_index | (static_cast<uint64_t>(t) << 32);
          RandomStream noise_random(seed, RandomDomain::noise, static_cast<uint64_t>(n), stream);
          if (config.channel == Channel::gaussian) {
            corrupt_gaussian(noise, config.v, tokens, noise_random, work.values);
            work.messages.leaf_log_scale = gaussian_likelihoods(noise, config.v, work.values, work.messages.leaves());
          } else {
            corrupt_tokens(noise, config.v, tokens, noise_random, work.observed);
            work.messages.leaf_log_scale = token_likelihoods(noise, config.v, work.observed, work.messages.leaves());
          }
          upward_messages(grammar, work.messages);
          downward_messages(grammar, work.messages);
          RandomStream posterior_random(seed, RandomDomain::posterior, static_cast<uint64_t>(n), stream);
          sample_posterior(grammar, work.messages, posterior_random, work.denoised);
          const bool class_kept = work.denoised[0] == work.clean[0];
          for (int level = 0; level <= L; ++level) {
            const int64_t count = nodes_at_level(params, level);
            const int symbols = symbols_at_level(params, level);
            const int64_t begin = level_offset(params, level);
            node_marginals(grammar, work.messages, level, {work.marginals.data(), static_cast<size_t>(count * symbols)});
            uint8_t* changes = changed[static_cast<size_t>(level)].data() + (n * T + t) * count;
            int64_t same = 0;
            double mass = 0;
            for (int64_t i = 0; i < count; ++i) {
              const uint32_t truth = work.clean[static_cast<size_t>(begin + i)];
              const bool kept = work.denoised[static_cast<size_t>(begin + i)] == truth;
              same += kept;
              changes[i] = !kept;
              mass += work.marginals[static_cast<size_t>(i * symbols + truth)];
            }
            const double agreement = static_cast<double>(same) / static_cast<double>(count);
            const auto slot = static_cast<size_t>(n * levels + level);
            measures.agreement[slot] += agreement / T;
            measures.mass[slot] += mass / static_cast<double>(count) / T;
            auto& outcome = class_kept ? measures.kept[static_cast<size_t>(level)] : measures.changed[static_cast<size_t>(level)];
            outcome.count[static_cast<size_t>(n)] += 1;
            outcome.agreement_sum[static_cast<size_t>(n)] += agreement;
          }
        }
      });
  if (interrupted()) return measures;
  for (int level = 0; level <= L; ++level)
    measures.changes.push_back(change_terms(changed[static_cast<size_t>(level)], N, T, config.s, level));
  return measures;
}

std::vector<PhaseRow> summarise(int L, size_t noise_index, const std::vector<UnitMeasures>& per_grammar, int64_t samples,
                                int trajectories) {
  std::vector<PhaseRow> rows;
  const int levels = L + 1;
  const auto grammars = static_cast<int64_t>(per_grammar.size());
  const int64_t total = samples * trajectories * grammars;
  for (int level = 0; level <= L; ++level) {
    PhaseRow row;
    row.L = L;
    row.noise_index = noise_index;
    row.level = level;
    row.samples = samples;
    row.grammars = grammars;
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
    row.agreement = estimate_mean(agreement);
    row.posterior_mass = estimate_mean(mass);
    std::vector<const OutcomeSums*> kept, changed;
    std::vector<const ChangeTerms*> changes;
    for (const auto& unit : per_grammar) {
      kept.push_back(&unit.kept[static_cast<size_t>(level)]);
      changed.push_back(&unit.changed[static_cast<size_t>(level)]);
      changes.push_back(&unit.changes[static_cast<size_t>(level)]);
    }
    row.kept = combine_outcome(kept, total);
    row.changed = combine_outcome(changed, total);
    row.changes = combine_changes(changes);
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
        if (on_progress) on_progress(config.samples * config.trajectories);
      }
      for (auto& row : summarise(L, k, per_grammar, config.samples, config.trajectories)) results.rows.push_back(row);
    }
  return results;
}

}  // namespace hdiff
