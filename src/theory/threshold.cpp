#include "theory/threshold.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "noise/schedule.h"

namespace hdiff {
namespace {

// Bands around the two fixed points, as fractions of D*.
constexpr double kReconstructedBand = 0.9;
constexpr double kLostBand = 0.05;
// The nearly noiseless start that finds D*, in badness units (ε, or 1 − ᾱ).
constexpr double kReferenceBadness = 0.01;

// The search works with badness x (larger = noisier): ε, or 1 − ᾱ for gaussian.
double noise_of(Channel channel, double badness) { return channel == Channel::gaussian ? 1.0 - badness : badness; }

double information(double true_mass, int v) { return (true_mass - 1.0 / v) / (1.0 - 1.0 / v); }

class Search {
 public:
  Search(const TheoryParams& params, const ThresholdOptions& options,
         const std::function<void(const ThresholdProbe&)>& on_probe)
      : params_(params), options_(options), on_probe_(on_probe) {}

  // Runs the flow at badness x and classifies it against D* (D* ≤ 0: only records D).
  ThresholdProbe probe(double x, double fixed_point) {
    ThresholdProbe result;
    result.noise = noise_of(params_.channel, x);
    std::vector<double> previous;
    bool settled = false;
    auto keep_going = [&](const FlowPoint& point, std::vector<bool>& frozen) {
      std::vector<double> current;
      for (double mass : point.replica_true_mass) current.push_back(information(mass, params_.v));
      result.levels_run = point.height;
      result.information = information(point.true_mass.mean, params_.v);
      result.information_se = point.true_mass.standard_error / (1.0 - 1.0 / params_.v);
      if (fixed_point > 0) {
        const bool last = point.height >= options_.levels;
        // Each replica either has settled near one fixed point (and moves toward
        // it) or not; the rounding slack keeps a replica sitting exactly on a
        // fixed point counted as settled.
        // A settled replica is frozen: its D stays, so it stays settled, and
        // the levels left go to the replicas still undecided.
        int reconstructed = 0, lost = 0;
        for (size_t r = 0; r < current.size(); ++r) {
          const bool rising = last || previous.empty() || current[r] >= previous[r] - 1e-12;
          const bool falling = last || previous.empty() || current[r] <= previous[r] + 1e-12;
          const bool up = current[r] >= kReconstructedBand * fixed_point && (rising || current[r] >= 0.99 * fixed_point);
          const bool down = !up && current[r] <= kLostBand * fixed_point && (falling || std::fabs(current[r]) <= 1e-5 * fixed_point);
          reconstructed += up;
          lost += down;
          if ((up || down) && point.height >= 1) frozen[r] = true;
        }
        const auto replicas = static_cast<int>(current.size());
        // A decision needs at least one level of the flow, so that the direction is known.
        if (point.height >= 1 || last) {
          if (reconstructed == replicas) result.outcome = ProbeOutcome::reconstructed;
          if (lost == replicas) result.outcome = ProbeOutcome::lost;
          // Replicas settled on different sides: more levels cannot decide.
          if (reconstructed + lost == replicas && reconstructed > 0 && lost > 0) settled = true;
        }
      }
      // The reference start stops once the flow no longer moves: D* is reached.
      if (fixed_point <= 0 && previous.size() == current.size()) {
        settled = true;
        for (size_t r = 0; r < current.size(); ++r) settled = settled && std::fabs(current[r] - previous[r]) <= 1e-12;
      }
      previous = std::move(current);
      return result.outcome == ProbeOutcome::undecided && !settled;
    };
    upward_flow(params_, result.noise, options_.levels, keep_going);
    if (fixed_point > 0) {
      probes_.push_back({x, result});
      if (on_probe_) on_probe_(result);
    }
    return result;
  }

  // Largest x probed with `outcome` (or `fallback`), and the nearest probe beyond it.
  double edge(ProbeOutcome outcome, bool lower, double fallback) const {
    double best = fallback;
    for (const auto& [x, probe] : probes_)
      if (probe.outcome == outcome) best = lower ? std::max(best, x) : std::min(best, x);
    return best;
  }
  double nearest_beyond(double x, bool above, double fallback) const {
    double best = fallback;
    for (const auto& [y, probe] : probes_)
      if (above ? (y > x && y < best) : (y < x && y > best)) best = y;
    return best;
  }
  std::vector<ThresholdProbe> probes() const {
    std::vector<ThresholdProbe> out;
    for (const auto& entry : probes_) out.push_back(entry.second);
    return out;
  }

 private:
  const TheoryParams& params_;
  const ThresholdOptions& options_;
  const std::function<void(const ThresholdProbe&)>& on_probe_;
  std::vector<std::pair<double, ThresholdProbe>> probes_;
};

}  // namespace

std::string outcome_name(ProbeOutcome outcome) {
  switch (outcome) {
    case ProbeOutcome::reconstructed: return "reconstructed";
    case ProbeOutcome::lost: return "lost";
    case ProbeOutcome::undecided: return "undecided";
  }
  return "?";
}

void validate(const ThresholdOptions& options) {
  if (options.levels < 2 || options.levels > 100000)
    fail("levels = {} is out of range; give --levels between 2 and 100000 (40 is typical)", options.levels);
  if (!(options.tolerance >= 1e-9 && options.tolerance <= 0.1))
    fail("tolerance = {} is out of range; give --tolerance between 1e-9 and 0.1", options.tolerance);
}

ThresholdResult find_threshold(const TheoryParams& params, const ThresholdOptions& options,
                               const std::function<void(const ThresholdProbe&)>& on_probe) {
  validate(params);
  validate(options);

  Search search(params, options, on_probe);
  ThresholdResult result;
  const Channel channel = params.channel;
  // D*: where a nearly noiseless start settles (after `levels` levels, or once it stops moving).
  const ThresholdProbe reference = search.probe(kReferenceBadness, 0.0);
  result.fixed_point_information = reference.information;
  if (reference.information < 0.05) {
    result.never_reconstructed = true;
    result.critical_noise = noise_of(channel, 0.0);
    result.interval_low = std::min(noise_of(channel, 0.0), noise_of(channel, kReferenceBadness));
    result.interval_high = std::max(noise_of(channel, 0.0), noise_of(channel, kReferenceBadness));
    return result;
  }
  const double fixed_point = reference.information;

  // Point estimate: the mean D after `levels` levels crosses D*/2. Noiseless
  // (x = 0) reconstructs and pure noise (x = 1) is lost, so [0, 1] brackets it.
  double low = 0, high = 1;
  while (high - low > options.tolerance) {
    const double mid = 0.5 * (low + high);
    const ThresholdProbe probe = search.probe(mid, fixed_point);
    (probe.information >= 0.5 * fixed_point ? low : high) = mid;
  }
  const double estimate = 0.5 * (low + high);

  // Interval edges: refine [last reconstructed, next probe] and [previous probe, first lost].
  double reconstructed = search.edge(ProbeOutcome::reconstructed, true, 0.0);
  double beyond = search.nearest_beyond(reconstructed, true, 1.0);
  while (beyond - reconstructed > options.tolerance) {
    const double mid = 0.5 * (reconstructed + beyond);
    (search.probe(mid, fixed_point).outcome == ProbeOutcome::reconstructed ? reconstructed : beyond) = mid;
  }
  double lost = search.edge(ProbeOutcome::lost, false, 1.0);
  double before = search.nearest_beyond(lost, false, 0.0);
  while (lost - before > options.tolerance) {
    const double mid = 0.5 * (before + lost);
    (search.probe(mid, fixed_point).outcome == ProbeOutcome::lost ? lost : before) = mid;
  }

  result.critical_noise = noise_of(channel, estimate);
  result.interval_low = std::min(noise_of(channel, reconstructed), noise_of(channel, lost));
  result.interval_high = std::max(noise_of(channel, reconstructed), noise_of(channel, lost));
  result.probes = search.probes();
  return result;
}

double critical_time(Channel channel, const std::string& schedule, double noise) {
  const double alpha_bar = channel == Channel::gaussian ? noise : 1.0 - noise;
  return time_at_alpha_bar(parse_schedule(schedule), alpha_bar);
}

}  // namespace hdiff
