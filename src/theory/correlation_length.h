#pragma once
// The correlation length ξ(ε) of the changes a forward–backward trajectory
// makes (docs/theory.md, "Correlation length"), from the token-level rows of a
// phase run's correlations.csv: the connected correlation C(h) of two tokens'
// changes against h = L − k, the height of their lowest common ancestor above
// the tokens (k its level), fitted as C(h) ∝ exp(−h/ξ) by weighted least
// squares on log C (weights C²/se², the delta method). ξ is in levels: two
// tokens r apart have h ≈ log_s r, so C ∝ r^{−1/(ξ ln s)}.

#include <filesystem>
#include <string>
#include <vector>

#include "theory/comparison.h"

namespace hdiff {

// One token-level point of correlations.csv.
struct CorrelationPoint {
  int L = 0;
  double noise = 0;
  int height = 0;  // h = L − lca_level ≥ 1
  double correlation = 0;
  double se = 0;
};

// Reads the token-level rows (level = L) of the correlations.csv at `path` whose
// model is `model`; Error (one line naming the file) when it is unreadable,
// larger than results.csv may be, lacks a column, or holds a bad number.
std::vector<CorrelationPoint> read_token_correlations(const std::filesystem::path& path, const ComparedModel& model);

// ξ at one (L, noise).
struct CorrelationLength {
  int L = 0;
  double noise = 0;
  double xi = 0;              // levels
  double xi_se = 0;
  double decay_per_level = 0;  // exp(−1/ξ): the factor C loses per level of height
  int points = 0;             // heights used (C > 0 and se > 0)
};

// Fits ξ at every (L, noise) of `points` with at least two usable heights and a
// decaying fit (slope < 0); the others are left out. Rows in (L, noise) order.
std::vector<CorrelationLength> fit_correlation_lengths(const std::vector<CorrelationPoint>& points);

// correlation_length.csv: L,noise,xi,xi_se,decay_per_level,points.
std::string correlation_length_csv(const std::vector<CorrelationLength>& lengths);

}  // namespace hdiff
