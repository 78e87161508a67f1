#include "noise/schedule.h"

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

std::vector<double> alpha_bar_table(Schedule schedule) {
  const int T = kDiffusionSteps;
  std::vector<double> table(T + 1);
  table[0] = 1.0;
  if (schedule == Schedule::linear) {
    for (int k = 1; k <= T; ++k) {
      const double beta = 1e-4 + (0.02 - 1e-4) * (k - 1) / (T - 1);
      table[k] = table[k - 1] * (1.0 - beta);
    }
  } else {
    const double offset = 0.008;
    auto f = [&](double t) {
      const double c = std::cos((t / T + offset) / (1 + offset) * std::numbers::pi / 2);
      return c * c;
    };
    for (int k = 1; k <= T; ++k) {
      const double beta = std::min(1.0 - f(k) / f(k - 1), 0.999);
      table[k] = table[k - 1] * (1.0 - beta);
    }
  }
  return table;
}

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
