#include "theory/scaling.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>

#include "common/error.h"
#include "common/parallel.h"
#include "common/random.h"

namespace hdiff {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// One depth's points sorted by noise (hence by x: λ^L > 0), standard errors
// floored, and the slopes of its monotone cubic interpolant.
struct Curve {
  int L = 0;
  std::vector<double> noise, value, variance;
  std::vector<double> slope;  // dA/dε at each point (Fritsch–Carlson)
};

// The Fritsch–Carlson slopes of a piecewise cubic Hermite interpolant that is
// monotone wherever the data are. The class curves are steep sigmoids sampled a
// few points across their step at large L: linear interpolation would bend
// them toward a wrong ν (the synthetic tests show it), a cubic follows them.
// Interpolating in ε or in x = (ε − ε*)·λ^L is the same: the map is affine.
std::vector<double> monotone_slopes(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = x.size();
  std::vector<double> secant(n - 1), slope(n);
  for (size_t i = 0; i + 1 < n; ++i) secant[i] = (y[i + 1] - y[i]) / (x[i + 1] - x[i]);
  slope[0] = secant[0];
  slope[n - 1] = secant[n - 2];
  for (size_t i = 1; i + 1 < n; ++i) {
    if (secant[i - 1] * secant[i] <= 0) {
      slope[i] = 0;
      continue;
    }
    // The weighted harmonic mean (Fritsch–Butland), which keeps the cubic monotone.
    const double h0 = x[i] - x[i - 1], h1 = x[i + 1] - x[i];
    const double w0 = 2 * h1 + h0, w1 = h1 + 2 * h0;
    slope[i] = (w0 + w1) / (w0 / secant[i - 1] + w1 / secant[i]);
  }
  return slope;
}

std::vector<Curve> curves_of(const std::vector<ScalingPoint>& points, double se_floor) {
  std::map<int, std::vector<ScalingPoint>> by_depth;
  for (const auto& point : points) by_depth[point.L].push_back(point);
  std::vector<Curve> curves;
  for (auto& [L, list] : by_depth) {
    std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.noise < b.noise; });
    Curve curve{L, {}, {}, {}, {}};
    for (const auto& point : list) {
      curve.noise.push_back(point.noise);
      curve.value.push_back(point.value);
      const double se = std::max(point.se, se_floor);
      curve.variance.push_back(se * se);
    }
    if (curve.noise.size() >= 2) curve.slope = monotone_slopes(curve.noise, curve.value);
    curves.push_back(std::move(curve));
  }
  return curves;
}

CollapseQuality quality_of(const std::vector<Curve>& curves, int s, const ScalingParams& params) {
  // x_j(i) = (ε_i − ε*)·λ^{L_j}: each curve's x is its noise offsets times one factor.
  const double log_lambda = std::log(static_cast<double>(s)) / params.nu;
  std::vector<double> factor;
  for (const auto& curve : curves) factor.push_back(std::exp(log_lambda * curve.L));
  double sum = 0;
  int64_t terms = 0;
  for (size_t j = 0; j < curves.size(); ++j)
    for (size_t i = 0; i < curves[j].noise.size(); ++i) {
      const double x = (curves[j].noise[i] - params.critical_noise) * factor[j];
      for (size_t k = 0; k < curves.size(); ++k) {
        if (k == j) continue;
        const Curve& other = curves[k];
        // The other curve's point as a noise level: x / λ^{L_k} + ε*.
        const double at = x / factor[k] + params.critical_noise;
        if (!(at >= other.noise.front() && at <= other.noise.back())) continue;
        size_t b = static_cast<size_t>(std::lower_bound(other.noise.begin(), other.noise.end(), at) - other.noise.begin());
        double interpolated = 0, variance = 0;
        if (other.noise[b] == at || b == 0) {
          interpolated = other.value[b];
          variance = other.variance[b];
        } else {
          const size_t a = b - 1;
          const double h = other.noise[b] - other.noise[a];
          const double t = (at - other.noise[a]) / h;
          // Cubic Hermite basis; the variance is that of the linear interpolant
          // (the slopes' own errors are neglected).
          const double t2 = t * t, t3 = t2 * t;
          interpolated = (2 * t3 - 3 * t2 + 1) * other.value[a] + (t3 - 2 * t2 + t) * h * other.slope[a] +
                         (-2 * t3 + 3 * t2) * other.value[b] + (t3 - t2) * h * other.slope[b];
          variance = (1 - t) * (1 - t) * other.variance[a] + t * t * other.variance[b];
        }
        const double difference = curves[j].value[i] - interpolated;
        sum += difference * difference / (curves[j].variance[i] + variance);
        ++terms;
      }
    }
  if (terms == 0) return {kInfinity, 0};
  return {sum / static_cast<double>(terms), terms};
}

struct Search {
  const std::vector<Curve>& curves;
  const ScalingOptions& options;
  double noise_low, noise_high;

  // The objective over (ε*, log ν); +inf outside the searched box.
  double operator()(const std::array<double, 2>& at) const {
    const double nu = std::exp(at[1]);
    if (!(at[0] >= noise_low && at[0] <= noise_high && nu >= options.nu_low && nu <= options.nu_high)) return kInfinity;
    return quality_of(curves, options.s, {at[0], nu}).quality;
  }
};

std::array<double, 2> nelder_mead(const Search& f, std::array<double, 2> start, std::array<double, 2> step) {
  std::array<std::array<double, 2>, 3> simplex = {start, start, start};
  simplex[1][0] += step[0];
  simplex[2][1] += step[1];
  std::array<double, 3> value;
  for (size_t i = 0; i < 3; ++i) value[i] = f(simplex[i]);
  for (int iteration = 0; iteration < 4000; ++iteration) {
    std::array<size_t, 3> order = {0, 1, 2};
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return value[a] < value[b]; });
    const auto best = simplex[order[0]], middle = simplex[order[1]], worst = simplex[order[2]];
    const double best_value = value[order[0]], middle_value = value[order[1]], worst_value = value[order[2]];
    // Converged when the simplex is small against the grid's resolution.
    double size = 0;
    for (size_t i = 1; i < 3; ++i)
      size = std::max({size, std::fabs(simplex[order[i]][0] - best[0]) / step[0],
                       std::fabs(simplex[order[i]][1] - best[1]) / step[1]});
    if (size < 1e-7) break;
    std::array<double, 2> centroid = {(best[0] + middle[0]) / 2, (best[1] + middle[1]) / 2};
    const auto along = [&](double t) {
      return std::array<double, 2>{centroid[0] + t * (worst[0] - centroid[0]), centroid[1] + t * (worst[1] - centroid[1])};
    };
    const auto reflected = along(-1);
    const double reflected_value = f(reflected);
    auto replace = [&](const std::array<double, 2>& point, double v) {
      simplex[order[2]] = point;
      value[order[2]] = v;
    };
    if (reflected_value < best_value) {
      const auto expanded = along(-2);
      const double expanded_value = f(expanded);
      if (expanded_value < reflected_value)
        replace(expanded, expanded_value);
      else
        replace(reflected, reflected_value);
    } else if (reflected_value < middle_value) {
      replace(reflected, reflected_value);
    } else {
      const bool outside = reflected_value < worst_value;
      const auto contracted = along(outside ? -0.5 : 0.5);
      const double contracted_value = f(contracted);
      if (contracted_value < (outside ? reflected_value : worst_value)) {
        replace(contracted, contracted_value);
      } else {
        // Shrink toward the best vertex.
        for (size_t i = 1; i < 3; ++i) {
          auto& point = simplex[order[i]];
          point = {best[0] + 0.5 * (point[0] - best[0]), best[1] + 0.5 * (point[1] - best[1])};
          value[order[i]] = f(point);
        }
      }
    }
  }
  size_t best = 0;
  for (size_t i = 1; i < 3; ++i)
    if (value[i] < value[best]) best = i;
  return simplex[best];
}

// The value at share q of the sorted values (linear between order statistics).
double quantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const double at = q * static_cast<double>(values.size() - 1);
  const auto low = static_cast<size_t>(std::floor(at));
  const size_t high = std::min(low + 1, values.size() - 1);
  return values[low] + (at - static_cast<double>(low)) * (values[high] - values[low]);
}

}  // namespace

double scaling_variable(double noise, int L, int s, const ScalingParams& params) {
  return (noise - params.critical_noise) * std::pow(static_cast<double>(s), L / params.nu);
}

void validate(const ScalingOptions& options) {
  if (options.s < 2) fail("the scaling fit needs s >= 2 children per production, got {}", options.s);
  if (!(options.se_floor > 0)) fail("the standard-error floor of the scaling fit must be positive");
  if (!(options.nu_low > 0 && options.nu_high > options.nu_low))
    fail("the nu range of the scaling fit must satisfy 0 < low < high");
  if (options.noise_grid < 3 || options.nu_grid < 3) fail("the scaling fit's grid needs at least 3 points per axis");
  if (options.bootstrap < 0 || options.bootstrap > 100000)
    fail("--bootstrap must lie in [0, 100000], got {}", options.bootstrap);
  if (!(options.confidence > 0 && options.confidence < 1)) fail("the confidence level must lie in (0, 1)");
}

CollapseQuality collapse_quality(const std::vector<ScalingPoint>& points, const ScalingParams& params,
                                 const ScalingOptions& options) {
  return quality_of(curves_of(points, options.se_floor), options.s, params);
}

ScalingParams minimise_collapse(const std::vector<ScalingPoint>& points, const ScalingOptions& options,
                                const ScalingParams& start, double noise_step, double log_nu_step) {
  const auto curves = curves_of(points, options.se_floor);
  double low = kInfinity, high = -kInfinity;
  for (const auto& point : points) {
    low = std::min(low, point.noise);
    high = std::max(high, point.noise);
  }
  const Search search{curves, options, low, high};
  const auto found = nelder_mead(search, {start.critical_noise, std::log(start.nu)}, {noise_step, log_nu_step});
  return {found[0], std::exp(found[1])};
}

ScalingFit fit_scaling(const std::vector<ScalingPoint>& points, const ScalingOptions& options) {
  validate(options);
  if (points.size() > kMaxScalingPoints)
    fail("finite-size scaling takes at most {} class-level points (depths × noise levels); the results hold {}: pick "
         "depths with --depths", kMaxScalingPoints, points.size());
  const auto curves = curves_of(points, options.se_floor);
  if (curves.size() < 2)
    fail("finite-size scaling needs class curves of at least two depths L; the results hold {}", curves.size());
  for (const auto& curve : curves) {
    if (curve.noise.size() < 2)
      fail("finite-size scaling needs at least two noise levels at every depth; L = {} has {}", curve.L,
           curve.noise.size());
    for (size_t i = 1; i < curve.noise.size(); ++i)
      if (curve.noise[i] == curve.noise[i - 1])
        fail("the results hold two class-level rows at L = {} and noise {}; give one phase run", curve.L, curve.noise[i]);
  }
  const double noise_low = std::min_element(points.begin(), points.end(), [](auto& a, auto& b) { return a.noise < b.noise; })->noise;
  const double noise_high = std::max_element(points.begin(), points.end(), [](auto& a, auto& b) { return a.noise < b.noise; })->noise;
  if (!(noise_high > noise_low)) fail("finite-size scaling needs more than one noise level");

  // The grid: every (ε*, ν) evaluated, the best kept (ties: the first in grid order).
  const double noise_step = (noise_high - noise_low) / (options.noise_grid - 1);
  const double log_nu_step = std::log(options.nu_high / options.nu_low) / (options.nu_grid - 1);
  std::vector<double> grid(static_cast<size_t>(options.noise_grid) * static_cast<size_t>(options.nu_grid));
  parallel_for(options.noise_grid, [&](int64_t a) {
    for (int b = 0; b < options.nu_grid; ++b) {
      const ScalingParams at{noise_low + static_cast<double>(a) * noise_step, options.nu_low * std::exp(b * log_nu_step)};
      grid[static_cast<size_t>(a) * static_cast<size_t>(options.nu_grid) + static_cast<size_t>(b)] =
          quality_of(curves, options.s, at).quality;
    }
  });
  const size_t best_index = static_cast<size_t>(std::min_element(grid.begin(), grid.end()) - grid.begin());
  if (!std::isfinite(grid[best_index]))
    fail("no critical noise and nu in the searched range make the class curves overlap; check the noise levels");
  const ScalingParams start{noise_low + static_cast<double>(best_index / static_cast<size_t>(options.nu_grid)) * noise_step,
                            options.nu_low * std::exp(static_cast<double>(best_index % static_cast<size_t>(options.nu_grid)) * log_nu_step)};

  ScalingFit fit;
  fit.best = minimise_collapse(points, options, start, noise_step, log_nu_step);
  fit.quality = quality_of(curves, options.s, fit.best);
  const double edge = 1e-3 * log_nu_step;
  fit.nu_at_edge = std::log(fit.best.nu / options.nu_low) < log_nu_step + edge ||
                   std::log(options.nu_high / fit.best.nu) < log_nu_step + edge;
  fit.critical_noise_low = fit.critical_noise_high = fit.best.critical_noise;
  fit.nu_low = fit.nu_high = fit.best.nu;
  if (options.bootstrap == 0) return fit;

  // Each replica: every point redrawn as value + se·N(0, 1) from its own stream,
  // refitted from the best fit; replicas are keyed by index, so the intervals
  // are the same for any thread count.
  fit.replicas.resize(static_cast<size_t>(options.bootstrap));
  parallel_for(options.bootstrap, [&](int64_t replica) {
    RandomStream random(options.seed, RandomDomain::theory, static_cast<uint64_t>(replica), 0x5ca1ab1e);
    std::vector<ScalingPoint> drawn = points;
    for (auto& point : drawn) point.value += point.se * random.normal();
    fit.replicas[static_cast<size_t>(replica)] = minimise_collapse(drawn, options, fit.best, noise_step, log_nu_step);
  });
  std::vector<double> critical, nu;
  for (const auto& replica : fit.replicas) {
    critical.push_back(replica.critical_noise);
    nu.push_back(replica.nu);
  }
  const double tail = (1 - options.confidence) / 2;
  fit.critical_noise_low = quantile(critical, tail);
  fit.critical_noise_high = quantile(critical, 1 - tail);
  fit.nu_low = quantile(nu, tail);
  fit.nu_high = quantile(nu, 1 - tail);
  return fit;
}

}  // namespace hdiff
