#pragma once
// Finite-size scaling of the class transition (docs/theory.md, "Finite-size
// scaling"): the class-agreement curves A_0(ε; L) of several depths collapse
// onto one curve f when drawn against
//
//   x = (ε − ε*)·λ^L,  λ = s^{1/ν},  i.e.  x = (ε − ε*)·d^{1/ν} with d = s^L,
//
// the definition of ν that `hdiff theory --mean-field` uses (there λ = F′(p*),
// so ν = log s / log F′(p*)): a deviation δε from ε* grows by λ per level on
// the way up, and the class is decided when it has grown to order one.
//
// The collapse is judged by the Houdayer–Hartmann measure: for every point of
// every curve and every other curve whose x-range covers it, the squared
// difference between the point and that curve's monotone cubic interpolation
// (Fritsch–Carlson), divided by the sum of their variances (the interpolation's
// as if linear); the quality is the mean of these terms (about
// 1 for a collapse as good as the errors allow). (ε*, ν) minimise it: a grid
// over the measured noise range and log ν, then Nelder–Mead from the best grid
// point. Everything is deterministic.
//
// Intervals come from a parametric bootstrap: results.csv holds the mean over
// grammar seeds and its standard error (which includes the spread between
// grammars), not the grammars' own values, so each replica redraws every point
// as mean + N(0, se²) and is refitted; the interval holds the central
// `confidence` share of the replicas' (ε*, ν).

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hdiff {

// One measured point of one curve: class agreement at depth L and noise.
struct ScalingPoint {
  int L = 0;
  double noise = 0;  // ε, or ᾱ for gaussian
  double value = 0;  // A_0
  double se = 0;     // its standard error
};

// The two parameters of a collapse.
struct ScalingParams {
  double critical_noise = 0;  // ε* (ᾱ* for gaussian)
  double nu = 1;              // ν > 0
};

// x = (noise − ε*)·s^{L/ν}.
double scaling_variable(double noise, int L, int s, const ScalingParams& params);

// The Houdayer–Hartmann collapse measure and the number of terms it averages;
// quality is +inf when no point of one curve lies in the x-range of another.
struct CollapseQuality {
  double quality = 0;
  int64_t terms = 0;
};

// Settings of the fit.
struct ScalingOptions {
  int s = 2;                   // children per production: λ = s^{1/ν}
  double se_floor = 1e-3;      // standard errors below it count as it (A_0 = 1 exactly has se 0)
  double nu_low = 0.25;        // the ν range searched
  double nu_high = 8;
  int noise_grid = 201;        // grid points over the measured noise range
  int nu_grid = 61;            // grid points over log ν
  int bootstrap = 200;         // bootstrap replicas (0: no interval)
  double confidence = 0.95;    // central share of the replicas the intervals hold
  uint64_t seed = 0;           // seed of the bootstrap draws
};

// Checks the settings; Error naming the fix.
void validate(const ScalingOptions& options);

// The collapse measure of `points` at `params` (standard errors floored at options.se_floor).
CollapseQuality collapse_quality(const std::vector<ScalingPoint>& points, const ScalingParams& params,
                                 const ScalingOptions& options);

// The result of a fit.
struct ScalingFit {
  ScalingParams best;
  CollapseQuality quality;                 // at `best`
  double critical_noise_low = 0, critical_noise_high = 0;  // the bootstrap interval (= best without bootstrap)
  double nu_low = 0, nu_high = 0;
  std::vector<ScalingParams> replicas;     // the bootstrap fits, in replica order
  bool nu_at_edge = false;                 // the best ν lies at an end of the searched range
};

// The most points a fit takes: its grid costs points × depths per evaluation,
// and a phase run has tens to hundreds (9 depths × 17 noise levels above).
inline constexpr size_t kMaxScalingPoints = 10000;

// Fits (ε*, ν). Needs at least two depths and two points per depth, at most
// kMaxScalingPoints points; Error otherwise, and when no (ε*, ν) of the search
// gives overlapping curves.
ScalingFit fit_scaling(const std::vector<ScalingPoint>& points, const ScalingOptions& options);

// Nelder–Mead minimisation of `f` over (ε*, log ν) from `start`, with first
// steps `step`; the minimum found (deterministic). Exposed for the tests.
ScalingParams minimise_collapse(const std::vector<ScalingPoint>& points, const ScalingOptions& options,
                                const ScalingParams& start, double noise_step, double log_nu_step);

}  // namespace hdiff
