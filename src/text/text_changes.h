#pragma once
// Forward–backward on text with a masked-diffusion denoiser, and the
// correlated changes it makes (docs/text.md, "Correlated changes in text";
// the follow-up paper's text experiment on hdiff's own model). Plain C++ on a
// TokenDenoiser.
//
// For each noise level t, clean sequence x₀ and trajectory: every position is
// masked with probability t; the denoiser then unmasks one uniformly chosen
// masked position at a time, drawing its token from that position's row, at
// noise (masked positions)/d, until none is left (as denoiser_phase's masked
// path); x̂₀ is the result. δ_i = 1 where x̂₀_i ≠ x₀_i, σ_i = 2δ_i − 1.
// Measures per t (experiment/changes.h, with one "level" of d positions):
// changed_fraction; χ = Σ_ij C_ij / Σ_i C_ii, the raw (1/d)·Σ_ij C^σ_ij and the
// windowed Σ_{|r|≤R} C^σ(r) (`susceptibility_window`, R = 10 by default); and
// C^σ(r) for r = 0..max_distance, the covariance of σ_i and σ_{i+r} over
// trajectories of the same x₀, averaged over the d − r pairs. Standard errors
// are clustered by sequence (its trajectories are correlated).
//
// Guarantees: every draw comes from counter-based streams keyed by (seed,
// sequence, level, trajectory) — masks from the noise domain, unmasking from
// the experiment domain — so results do not depend on batching or threads; the
// denoiser's rows are checked (NaN, +∞, or not summing to 1 within 1e-4 is one
// Error naming the sequence and position).

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "denoiser/token_denoiser.h"
#include "experiment/changes.h"

namespace hdiff::text {

struct TextChangesConfig {
  std::vector<double> noise = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
  int trajectories = 4;   // per sequence, at least 2 (C(r) is a covariance over them)
  int window = kDefaultChangeWindow;  // R
  int max_distance = 32;  // C(r) for r = 0..max_distance (clipped to d − 1)
  uint64_t seed = 0;
};

struct TextChangesRow {
  double noise = 0;
  ChangeSummary changes;                              // changed_fraction, χ, raw, window
  std::vector<std::optional<Estimate>> correlation;   // C^σ(r), r = 0..max_distance
  std::optional<double> correlation_length;           // r where C(r)/C(0) first falls to 1/e (interpolated)
};

struct TextChangesResult {
  std::vector<TextChangesRow> rows;  // one per noise level, in order
  // The first trajectory of every sequence per level: masked input and x̂₀
  // ([level][sequence × d]; MASK = v), for the sample grid.
  std::vector<std::vector<uint32_t>> masked, denoised;
};

// Checks the config against d (levels in [0, 1], 1..10 000 of them, 2..1000
// trajectories, window ≥ 1, max_distance ≥ 1); Error naming the bad value.
void validate(const TextChangesConfig& config);

// The experiment on `clean` (count × d tokens in [0, v)). `on_progress` (may be
// empty) gets the trajectories finished so far after each level.
TextChangesResult text_changes(const TokenDenoiser& denoiser, int v, int64_t d, std::span<const uint32_t> clean,
                               const TextChangesConfig& config,
                               const std::function<void(int64_t)>& on_progress = {});

// C^σ(r) for r = 0..max_distance from 0/1 changes laid out [sequence][trajectory][position]
// (T ≥ 2): per sequence (1/(T−1))·Σ_t mean over i of c_{t,i}·c_{t,i+r} with c the
// change centred on the sequence's mean over trajectories, times 4 (σ units);
// then the mean and standard error over sequences.
std::vector<std::optional<Estimate>> change_correlation(std::span<const uint8_t> changed, int64_t sequences,
                                                        int trajectories, int64_t d, int max_distance);

// The distance where c(r)/c(0) first falls to 1/e, linearly interpolated
// between neighbouring r; empty when c(0) ≤ 0 or it never does.
std::optional<double> correlation_length(const std::vector<std::optional<Estimate>>& correlation);

}  // namespace hdiff::text
