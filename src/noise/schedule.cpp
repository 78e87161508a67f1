#include "noise/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "common/error.h"

namespace hdiff {

Schedule parse_schedule(const std::string& name) {
  if (name == "linear") return Schedule::linear;
  if (name == "cosine") return Schedule::cosine;
  fail("unknown schedule \"{}\"; choose linear or cosine", name);
}

std::string schedule_name(Schedule schedule) { return schedule == Schedule::linear ? "linear" : "cosine"; }

std::vector<double> ddpm_betas(Schedule schedule, int steps) {
  HDIFF_CHECK(steps >= 1);
  std::vector<double> betas(static_cast<size_t>(steps));
  if (schedule == Schedule::linear) {
    // Scaled so that any number of steps spans the same noise range as 1000.
    const double scale = 1000.0 / steps;
    const double start = scale * 0.0001, end = scale * 0.02;
    // numpy.linspace: start + i * step, the last point exactly `end`.
    const double step = steps > 1 ? (end - start) / (steps - 1) : 0.0;
    for (int i = 0; i < steps; ++i) betas[static_cast<size_t>(i)] = start + i * step;
    betas.back() = end;
    return betas;
  }
  auto alpha_bar = [](double t) {
    const double c = std::cos((t + 0.008) / 1.008 * std::numbers::pi / 2);
    return c * c;
  };
  for (int i = 0; i < steps; ++i) {
    const double t1 = static_cast<double>(i) / steps, t2 = static_cast<double>(i + 1) / steps;
    betas[static_cast<size_t>(i)] = std::min(1 - alpha_bar(t2) / alpha_bar(t1), 0.999);
  }
  return betas;
}

std::vector<double> alpha_bars(const std::vector<double>& betas) {
  std::vector<double> out(betas.size() + 1);
  out[0] = 1.0;
  for (size_t k = 1; k < out.size(); ++k) out[k] = out[k - 1] * (1.0 - betas[k - 1]);
  return out;
}

std::vector<double> alpha_bar_table(Schedule schedule) { return alpha_bars(ddpm_betas(schedule, kDiffusionSteps)); }

double alpha_bar_at(Schedule schedule, double t) {
  if (!std::isfinite(t) || t < 0 || t > kDiffusionSteps || t != std::floor(t))
    fail("diffusion time {} is not an integer step in [0, {}]", t, kDiffusionSteps);
  return alpha_bar_table(schedule)[static_cast<size_t>(t)];
}

double time_at_alpha_bar(Schedule schedule, double alpha_bar) {
  const auto table = alpha_bar_table(schedule);
  if (alpha_bar >= 1) return 0;
  if (alpha_bar <= table.back()) return kDiffusionSteps;
  for (size_t t = 1; t < table.size(); ++t)
    if (table[t] <= alpha_bar)
      return static_cast<double>(t - 1) + (table[t - 1] - alpha_bar) / (table[t - 1] - table[t]);
  return kDiffusionSteps;
}

}  // namespace hdiff
