#pragma once
// The critical noise of class reconstruction (SPEC §5): bisection on the noise
// level of the density-evolution flow through many levels.
//
// The upward map between internal levels does not depend on the noise: the noise
// only sets the leaf population, and the class is reconstructed when that
// population lies in the basin of the informative fixed point. Information is
// measured by D = (E u(0) − 1/v)/(1 − 1/v): 0 at the trivial fixed point.
// D* is where a nearly noiseless start settles: after `levels` levels, or
// earlier once no replica's D moves by more than 10⁻¹² in a level.
// A probe at one noise level runs up to `levels` levels and is
//   reconstructed — every replica lies within 10% of D* (the informative fixed
//                   point, found from a nearly noiseless start) and moves toward
//                   it or is within 1% of it,
//   lost          — every replica has D ≤ 0.05·D* and is falling or sits on the
//                   trivial fixed point (|D| ≤ 10⁻⁵·D*),
//   undecided     — otherwise: the flow is still near the unstable fixed point
//                   after `levels` levels, or the replicas disagree (finite population);
//                   a probe stops early once every replica has settled on one side.
// A replica that has settled (the first two conditions, for it alone) is frozen:
// it is no longer iterated and counts with the D it settled at, so a probe's
// levels go to the replicas still undecided.
// The interval is [largest reconstructed noise, smallest lost noise] among the
// probes, each edge refined by bisection to the tolerance; the point estimate
// is where the mean D after `levels` levels crosses D*/2.

#include <functional>
#include <string>
#include <vector>

#include "theory/density_evolution.h"

namespace hdiff {

// Settings of the search.
struct ThresholdOptions {
  int levels = 40;           // most levels a probe iterates
  double tolerance = 1e-3;   // width at which a bisection stops
};

// How a probe ended.
enum class ProbeOutcome { reconstructed, lost, undecided };

// Name of an outcome, as written in threshold.json.
std::string outcome_name(ProbeOutcome outcome);

// One noise level tried by the search.
struct ThresholdProbe {
  double noise = 0;           // ε, or ᾱ for gaussian
  ProbeOutcome outcome = ProbeOutcome::undecided;
  int levels_run = 0;         // levels iterated before the decision (or the limit)
  double information = 0;     // mean D at the last level
  double information_se = 0;  // its standard error over replicas
};

// The outcome of the search; noise values are ε (uniform, mask) or ᾱ (gaussian).
struct ThresholdResult {
  double critical_noise = 0;           // point estimate
  double interval_low = 0;             // the interval, low ≤ high in noise units
  double interval_high = 0;
  double fixed_point_information = 0;  // D* of the informative fixed point
  bool never_reconstructed = false;    // even a nearly noiseless start loses the class
  std::vector<ThresholdProbe> probes;  // in the order tried
};

// Checks the search's settings; Error naming the fix.
void validate(const ThresholdOptions& options);

// Finds the critical noise; `on_probe` is called after every probe (for progress).
ThresholdResult find_threshold(const TheoryParams& params, const ThresholdOptions& options,
                               const std::function<void(const ThresholdProbe&)>& on_probe = {});

// The diffusion time at which a schedule reaches the given noise level of `channel`
// (ᾱ = 1 − ε for uniform and mask, ᾱ itself for gaussian).
double critical_time(Channel channel, const std::string& schedule, double noise);

}  // namespace hdiff
