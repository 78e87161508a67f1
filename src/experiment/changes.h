#pragma once
// Statistics of what a forward–backward trajectory changed (docs/phase.md): the
// conditional agreement given the class outcome, and the correlated changes at
// one level (susceptibility χ and the connected correlation by lowest common
// ancestor). Pure functions of 0/1 change patterns, so that they can be checked
// on synthetic patterns with a known answer.
//
// Estimators are ratios or means over "clusters": a cluster is one clean sample
// x₀ (its trajectories are correlated), or one grammar when there are several.
// Standard errors are those of the cluster-level (delta-method) ratio estimator.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace hdiff {

// Mean and standard error of one measure.
struct Estimate {
  double mean = 0;
  double standard_error = 0;
};

// Mean and standard error of the mean of `values` (standard error 0 for one value).
Estimate estimate_mean(std::span<const double> values);

// Σ numerators / Σ denominators with the cluster standard error
// √(G/(G−1)·Σ_g (num_g − r·den_g)²) / Σ_g den_g over the G clusters (0 for one
// cluster); empty when Σ denominators = 0 (nothing to divide).
std::optional<Estimate> ratio_estimate(std::span<const double> numerators, std::span<const double> denominators);

// Per-cluster terms of the change covariance at one level of one grammar, where
// δ_i = 1 when position i changed. A cluster is a clean sample x₀ with its
// covariances over its T > 1 trajectories, or (T = 1) one sample with its
// centred products scaled so that the mean over clusters is the unbiased
// covariance over the grammar's samples. Every vector has one entry per cluster.
// C_ij here is the covariance of δ; the covariance of σ = 2δ − 1 is 4·C_ij.
struct ChangeTerms {
  double positions = 1;                       // n = s^ℓ (not a measure: set from the config, never sent)
  double changed_fraction = 0;                // mean of δ over samples, trajectories and positions
  std::vector<double> total;                  // Σ_ij C_ij
  std::vector<double> diagonal;               // Σ_i C_ii
  std::vector<std::vector<double>> by_lca;    // [k]: mean of C_ij over pairs i ≠ j whose lowest common ancestor is at level k < ℓ
  // Σ_{r = −R…R} C(r), where C(r) is the mean of C_ij over the n − |r| pairs
  // j − i = r of positions on the level's line, R = min(window, n − 1).
  std::vector<double> window;
};

// The distance R of the windowed susceptibility unless the config says otherwise.
inline constexpr int kDefaultChangeWindow = 10;

// The terms of one level ℓ with n = s^ℓ positions from `changed`, laid out
// [sample][trajectory][position] (samples × trajectories × n values 0 or 1);
// `window` is R ≥ 0 of ChangeTerms::window.
// With one trajectory and one sample no covariance exists: the vectors are empty.
ChangeTerms change_terms(std::span<const uint8_t> changed, int64_t samples, int trajectories, int s, int level,
                         int window = kDefaultChangeWindow);

// The change statistics of one (L, noise, level), combined over grammars.
// The raw and windowed susceptibilities are in σ units (C^σ_ij = 4·C_ij, the
// docs' C_ij) and defined whenever a covariance exists (0 when nothing varies).
struct ChangeSummary {
  double changed_fraction = 0;                      // mean of (1 + σ_i)/2
  std::optional<Estimate> susceptibility;           // χ = Σ_ij C_ij / Σ_i C_ii; empty when no change varies
  std::optional<Estimate> susceptibility_raw;     // (1/n)·Σ_ij C^σ_ij, n = s^ℓ positions; empty without covariance
  std::optional<Estimate> susceptibility_window;  // Σ_{|r| ≤ R} C^σ(r); empty without covariance
  std::vector<std::optional<Estimate>> by_lca;      // C_ℓ(k) for k = 0..ℓ−1; empty entries when undefined
};

// Combines the terms of every grammar: C averaged over clusters and grammars, then
// the ratio. Standard errors over grammars when there are several, else over the
// clusters of the one grammar.
ChangeSummary combine_changes(const std::vector<const ChangeTerms*>& per_grammar);

// The share of one class outcome (kept or changed) and the agreement at one
// level pooled over its samples.
struct OutcomeAgreement {
  double fraction = 0;                 // share of trajectories with this outcome
  std::optional<Estimate> agreement;   // pooled mean agreement; empty when no trajectory has this outcome
  int64_t trajectories = 0;            // trajectories with this outcome, over all grammars
};

// Per-cluster sums of one class outcome at one level of one grammar: the
// number of trajectories with the outcome and the sum of their agreements, one
// entry per clean sample.
struct OutcomeSums {
  std::vector<double> count;
  std::vector<double> agreement_sum;
};

// Pools the outcome sums of every grammar; `total` is the number of
// trajectories over all grammars. Standard error over grammars when there are
// several, else over the clean samples of the one grammar.
OutcomeAgreement combine_outcome(const std::vector<const OutcomeSums*>& per_grammar, int64_t total);

}  // namespace hdiff
