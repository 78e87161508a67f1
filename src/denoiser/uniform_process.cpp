// The uniform (D3PM) process of the measurements: its schedule, the snapping of
// a noise level to a step, and the reverse step of an x₀-predicting denoiser.

#include <cmath>

#include "common/error.h"
#include "denoiser/measure.h"
#include "noise/schedule.h"

namespace hdiff {

UniformSchedule uniform_schedule(int steps) {
  // The linear schedule's last β is 0.02·1000/T, a probability only for T ≥ 20.
  if (steps < kMinUniformSteps || steps > kMaxUniformSteps)
    fail("uniform steps {} must lie in [{}, {}] (the linear schedule's last beta is 20/T)", steps, kMinUniformSteps,
         kMaxUniformSteps);
  UniformSchedule schedule;
  schedule.steps = steps;
  schedule.betas = ddpm_betas(Schedule::linear, steps);
  schedule.alpha_bars = alpha_bars(schedule.betas);
  return schedule;
}

int uniform_step_at(const UniformSchedule& schedule, double noise) {
  if (!(noise >= 0 && noise <= 1)) fail("noise level {} must lie in [0, 1]", noise);
  int best = 0;
  double best_distance = noise;  // ε_0 = 0
  for (int k = 1; k <= schedule.steps; ++k) {
    const double distance = std::abs(1.0 - schedule.alpha_bars[static_cast<size_t>(k)] - noise);
    if (distance < best_distance) {
      best = k;
      best_distance = distance;
    }
  }
  return best;
}

double uniform_noise_at(const UniformSchedule& schedule, int k) {
  return 1.0 - schedule.alpha_bars.at(static_cast<size_t>(k));
}

void uniform_reverse_step(const UniformSchedule& schedule, int k, int v, uint32_t observed,
                          std::span<const double> log_p0, std::span<double> out) {
  if (k < 1 || k > schedule.steps) fail("reverse step {} must lie in [1, {}]", k, schedule.steps);
  if (observed >= static_cast<uint32_t>(v)) fail("token {} is out of range; tokens lie in [0, {}]", observed, v - 1);
  // With f(c) = (1−β)[o = c] + β/v (the step's kernel, read at x_k = o) and
  // g(c, a) = ᾱ'[c = a] + (1−ᾱ')/v (the kernel from x₀ = a), ᾱ' = ᾱ_{k−1}:
  // g = D + (C − D)[c = a] with D = (1−ᾱ')/v, C − D = ᾱ', and Σ_c f(c) = 1, so
  // the normaliser is Z_a = D + ᾱ'·f(a) and
  // out[c] = f(c)·(D·Σ_a p(a)/Z_a + ᾱ'·p(c)/Z_c): O(v) instead of O(v²).
  const double beta = schedule.betas[static_cast<size_t>(k - 1)];
  const double keep = schedule.alpha_bars[static_cast<size_t>(k - 1)];
  const double spread = (1.0 - keep) / v;
  const auto f = [&](int c) { return (static_cast<uint32_t>(c) == observed ? 1.0 - beta : 0.0) + beta / v; };
  double shared = 0;
  for (int a = 0; a < v; ++a) {
    const double p = std::exp(log_p0[static_cast<size_t>(a)]);
    shared += p / (spread + keep * f(a));
  }
  double total = 0;
  for (int c = 0; c < v; ++c) {
    const double p = std::exp(log_p0[static_cast<size_t>(c)]);
    const double z = spread + keep * f(c);
    const double value = f(c) * (spread * shared + (p > 0 ? keep * p / z : 0.0));
    out[static_cast<size_t>(c)] = value;
    total += value;
  }
  // Σ_c out = Σ_a p(a) = 1 up to rounding; the division keeps it a distribution.
  for (int c = 0; c < v; ++c) out[static_cast<size_t>(c)] /= total;
}

}  // namespace hdiff
