#pragma once
// The forward–backward experiment (SPEC §4): for every depth L, grammar seed and
// noise point, draw samples, noise them, denoise them exactly and measure, level
// by level, what the denoised sample keeps of the original.
// Guarantees: results are byte-identical for any thread count (work items are
// keyed by index, sums reduced in a fixed order), and an interrupted run writes
// nothing partial.

#include <cstdint>
#include <functional>
#include <vector>

#include "experiment/changes.h"
#include "experiment/information.h"
#include "experiment/phase_config.h"

namespace hdiff {

// One result row: depth L, noise point, level ℓ (0 = class, L = tokens).
struct PhaseRow {
  int L = 0;
  size_t noise_index = 0;
  int level = 0;
  Estimate agreement;       // fraction of positions where the posterior sample's ẑ_ℓ = z_ℓ
  Estimate posterior_mass;  // mean BP marginal at the true value
  int64_t samples = 0;      // samples per grammar
  int64_t grammars = 0;     // grammar seeds
  OutcomeAgreement kept;    // agreement pooled over the trajectories that kept the class
  OutcomeAgreement changed; // and over those that changed it
  ChangeSummary changes;    // correlated changes (level ≥ 1; level 0 has one position)
  InformationSummary information;   // what x_t tells about the level (information.h)
  int64_t information_samples = 0;  // clean samples per grammar behind `information`
};

// Everything the experiment measured, in row order (L, noise, level).
struct PhaseResults {
  std::vector<PhaseRow> rows;
  bool interrupted = false;  // Ctrl-C: rows hold only the (L, noise) points completed
};

// Per-sample measures of one (L, grammar, noise) unit: for sample n and level ℓ,
// agreement[n·(L+1) + ℓ] and mass[n·(L+1) + ℓ] (means over the sample's
// trajectories), the outcome sums and change terms of every level; the
// information measures at [n·(L+1) + ℓ], for the first K =
// information_sample_count(config) samples only, are means over the level's
// nodes for the x_t of the sample's first trajectory, and prior_entropy[ℓ]
// that of the unit's grammar.
struct UnitMeasures {
  std::vector<double> agreement;
  std::vector<double> mass;
  std::vector<double> entropy;         // H(z_ℓ,i | x_t)
  std::vector<double> cross_entropy;   // −log p(z_ℓ,i = truth | x_t)
  std::vector<double> same_symbol;     // Σ_a p(z_ℓ,i = a | x_t)²
  std::vector<double> prior_entropy;   // per level: H(z_ℓ,i) (prior_level_entropy)
  std::vector<OutcomeSums> kept;       // per level ℓ = 0..L
  std::vector<OutcomeSums> changed;    // per level ℓ = 0..L
  std::vector<ChangeTerms> changes;    // per level ℓ = 0..L (level 0 has no pairs)
};

// The seed of the clean samples, noise and posterior draws of grammar
// `grammar_seed`'s units (sample n is sample_tree(grammar, seed, n)).
uint64_t phase_sample_seed(const PhaseConfig& config, uint64_t grammar_seed);

// Runs one unit: `samples` clean samples of grammar `grammar_seed` at depth L,
// each noised and denoised `trajectories` times at one noise point, on the
// float32 batch path or (config.precision double) the double reference path.
// Deterministic for any thread count.
UnitMeasures run_phase_unit(const PhaseConfig& config, int L, uint64_t grammar_seed, size_t noise_index);

// Combines the per-grammar measures of one (L, noise) point into rows for every
// level. With several grammars the standard error is that of the mean over
// grammars (it then includes the spread between grammars); with one, over samples
// (each sample's trajectories are averaged first).
std::vector<PhaseRow> summarise(int L, size_t noise_index, const std::vector<UnitMeasures>& per_grammar,
                                int64_t samples, int trajectories, int64_t information_samples);

// The per-sample measures of one level that standard errors run over: one
// value per grammar (its mean over samples), or per sample with one grammar.
struct LevelColumns {
  std::vector<double> agreement, mass, entropy, cross_entropy, same_symbol;
};

// The row of one level of a point: `columns` are what the standard errors run
// over; the outcome sums, change terms and prior entropies come from the
// units' `level` entries.
PhaseRow level_row(int L, size_t noise_index, int level, const std::vector<UnitMeasures>& per_grammar,
                   const LevelColumns& columns, int64_t samples, int trajectories, int64_t information_samples);

}  // namespace hdiff
