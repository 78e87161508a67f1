// The uniform process: its schedule is the `uniform` channel's, the snapping of
// a level to a step, and the reverse step against Bayes' rule by brute force.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/random.h"
#include "denoiser/measure.h"
#include "noise/schedule.h"
#include "support/helpers.h"

namespace hdiff {
namespace {

using testing::error_of;

// (1 − ε)[x = y] + ε/v: the `uniform` channel at ε as a v × v kernel.
std::vector<double> channel_kernel(double eps, int v) {
  std::vector<double> kernel(static_cast<size_t>(v * v), eps / v);
  for (int a = 0; a < v; ++a) kernel[static_cast<size_t>(a * v + a)] += 1 - eps;
  return kernel;
}

TEST(UniformProcess, ScheduleComposesToTheUniformChannelAtEachStep) {
  const int v = 5;
  const UniformSchedule schedule = uniform_schedule(100);
  ASSERT_EQ(schedule.betas.size(), 100u);
  ASSERT_EQ(schedule.alpha_bars.size(), 101u);
  EXPECT_EQ(schedule.alpha_bars[0], 1.0);
  EXPECT_EQ(schedule.betas, ddpm_betas(Schedule::linear, 100));
  // The product of the one-step kernels up to k is the channel at ε_k.
  std::vector<double> composed = channel_kernel(0, v);
  for (int k = 1; k <= 100; ++k) {
    const auto step = channel_kernel(schedule.betas[static_cast<size_t>(k - 1)], v);
    std::vector<double> next(composed.size(), 0.0);
    for (int a = 0; a < v; ++a)
      for (int b = 0; b < v; ++b)
        for (int c = 0; c < v; ++c)
          next[static_cast<size_t>(a * v + c)] += composed[static_cast<size_t>(a * v + b)] * step[static_cast<size_t>(b * v + c)];
    composed = next;
    const auto direct = channel_kernel(uniform_noise_at(schedule, k), v);
    for (size_t i = 0; i < composed.size(); ++i) ASSERT_NEAR(composed[i], direct[i], 1e-12) << "step " << k;
  }
  EXPECT_LT(schedule.alpha_bars[100], 1e-4);  // x_T is uniform tokens up to 1e-4
}

TEST(UniformProcess, StepsAreSnappedToTheClosestLevel) {
  const UniformSchedule schedule = uniform_schedule(100);
  EXPECT_EQ(uniform_step_at(schedule, 0.0), 0);
  EXPECT_EQ(uniform_step_at(schedule, 1.0), 100);
  for (int k : {1, 7, 30, 61, 99}) {
    EXPECT_EQ(uniform_step_at(schedule, uniform_noise_at(schedule, k)), k);
    const double between = 0.5 * (uniform_noise_at(schedule, k) + uniform_noise_at(schedule, k + 1));
    const double below = std::nextafter(between, 0.0), above = std::nextafter(between, 1.0);
    EXPECT_EQ(uniform_step_at(schedule, below), k);
    EXPECT_EQ(uniform_step_at(schedule, above), k + 1);
  }
  EXPECT_NE(error_of([&] { uniform_step_at(schedule, 1.5); }).find("[0, 1]"), std::string::npos);
  EXPECT_NE(error_of([&] { uniform_step_at(schedule, std::nan("")); }).find("[0, 1]"), std::string::npos);
}

TEST(UniformProcess, SchedulesShorterThanTwentyStepsAreRefused) {
  EXPECT_NE(error_of([] { uniform_schedule(19); }).find("uniform steps 19 must lie in [20,"), std::string::npos);
  EXPECT_EQ(error_of([] { uniform_schedule(20); }), "(no error)");
  EXPECT_NE(error_of([] { uniform_schedule(0); }).find("must lie in"), std::string::npos);
}

TEST(UniformProcess, ReverseStepIsBayesRuleByBruteForce) {
  // p(x_{k−1} = c | x_k = o) = Σ_a p(a)·q(x_k = o | c)·q(c | a) / Σ_c' q(o | c')·q(c' | a),
  // with every kernel written as a matrix.
  RandomStream random(3, RandomDomain::experiment, 0);
  for (int steps : {20, 100}) {
    const UniformSchedule schedule = uniform_schedule(steps);
    for (int v : {2, 3, 6}) {
      for (int k : {1, 2, steps / 2, steps - 1, steps}) {
        const auto step = channel_kernel(schedule.betas[static_cast<size_t>(k - 1)], v);
        const auto from_clean = channel_kernel(uniform_noise_at(schedule, k - 1), v);
        for (uint32_t o = 0; o < static_cast<uint32_t>(v); ++o)
          for (int trial = 0; trial < 4; ++trial) {
            // A random predicted x₀, with one impossible token on odd trials.
            std::vector<double> p(static_cast<size_t>(v));
            double total = 0;
            for (auto& x : p) total += x = random.uniform() + 0.01;
            if (trial % 2) {
              total -= p[static_cast<size_t>(trial % v)];
              p[static_cast<size_t>(trial % v)] = 0;
            }
            std::vector<double> log_p;
            for (auto& x : p) log_p.push_back(std::log(x /= total));
            std::vector<double> expected(static_cast<size_t>(v), 0.0);
            for (int a = 0; a < v; ++a) {
              double z = 0;
              for (int c = 0; c < v; ++c) z += step[static_cast<size_t>(c * v + o)] * from_clean[static_cast<size_t>(a * v + c)];
              for (int c = 0; c < v; ++c)
                expected[static_cast<size_t>(c)] +=
                    p[static_cast<size_t>(a)] * step[static_cast<size_t>(c * v + o)] * from_clean[static_cast<size_t>(a * v + c)] / z;
            }
            std::vector<double> out(static_cast<size_t>(v));
            uniform_reverse_step(schedule, k, v, o, log_p, out);
            for (int c = 0; c < v; ++c)
              ASSERT_NEAR(out[static_cast<size_t>(c)], expected[static_cast<size_t>(c)], 1e-12)
                  << "T " << steps << " v " << v << " k " << k << " o " << o << " c " << c;
          }
      }
    }
  }
}

TEST(UniformProcess, TheLastReverseStepIsThePrediction) {
  const UniformSchedule schedule = uniform_schedule(50);
  const std::vector<double> log_p = {std::log(0.2), std::log(0.5), -INFINITY, std::log(0.3)};
  std::vector<double> out(4);
  uniform_reverse_step(schedule, 1, 4, 2, log_p, out);
  EXPECT_NEAR(out[0], 0.2, 1e-15);
  EXPECT_NEAR(out[1], 0.5, 1e-15);
  EXPECT_EQ(out[2], 0.0);
  EXPECT_NEAR(out[3], 0.3, 1e-15);
  EXPECT_NE(error_of([&] { uniform_reverse_step(schedule, 0, 4, 2, log_p, out); }).find("[1, 50]"), std::string::npos);
  EXPECT_NE(error_of([&] { uniform_reverse_step(schedule, 3, 4, 4, log_p, out); }).find("out of range"), std::string::npos);
}

}  // namespace
}  // namespace hdiff
