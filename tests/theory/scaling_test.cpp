// The finite-size scaling fit (theory/scaling.h) on synthetic curves made from
// an exact scaling function, and the correlation-length fit
// (theory/correlation_length.h) on exact exponentials.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/error.h"
#include "common/parallel.h"
#include "common/random.h"
#include "theory/correlation_length.h"
#include "theory/scaling.h"

namespace hdiff {
namespace {

// A class-agreement-like master curve: 1 far below the transition, 1/32 far above.
double master(double x) { return 1.0 / 32 + (1 - 1.0 / 32) / (1 + std::exp(x / 0.15)); }

// Curves A(ε; L) = master((ε − ε*)·2^{L/ν}) at L = 4..10 on a grid dense around
// ε*, each with standard error `se`, plus N(0, se²) noise drawn at a fixed seed.
std::vector<ScalingPoint> synthetic(double critical, double nu, double se, uint64_t seed) {
  std::vector<ScalingPoint> points;
  for (int L = 4; L <= 10; ++L)
    for (int k = -12; k <= 12; ++k) {
      const double noise = critical + 0.004 * k + 0.0013;  // ε* between grid points
      RandomStream random(seed, RandomDomain::experiment, static_cast<uint64_t>(L), static_cast<uint64_t>(k + 100));
      const double value = master(scaling_variable(noise, L, 2, {critical, nu})) + se * random.normal();
      points.push_back({L, noise, value, se});
    }
  return points;
}

TEST(ScalingTest, VariableUsesTheMeanFieldDefinitionOfNu) {
  // x = (ε − ε*)·s^{L/ν}: one level up multiplies a deviation by λ = s^{1/ν}, the F′(p*) of mean field.
  const ScalingParams params{0.7, 1.893};
  EXPECT_NEAR(scaling_variable(0.8, 5, 2, params) / scaling_variable(0.8, 4, 2, params), std::pow(2.0, 1 / 1.893), 1e-12);
  EXPECT_NEAR(scaling_variable(0.8, 0, 2, params), 0.1, 1e-12);
  EXPECT_EQ(scaling_variable(0.7, 9, 3, params), 0.0);
}

TEST(ScalingTest, ExactCurvesCollapseOnlyAtTheTruth) {
  const auto points = synthetic(0.6, 2.0, 0.01, 1);
  ScalingOptions options;
  options.se_floor = 1e-6;
  std::vector<ScalingPoint> exact = points;
  for (auto& point : exact) point.value = master(scaling_variable(point.noise, point.L, 2, {0.6, 2.0}));
  const CollapseQuality truth = collapse_quality(exact, {0.6, 2.0}, options);
  EXPECT_GT(truth.terms, 100);
  // Linear interpolation of a smooth curve: small against the error bars, not zero.
  EXPECT_LT(truth.quality, 0.5);
  EXPECT_GT(collapse_quality(exact, {0.61, 2.0}, options).quality, 20 * truth.quality);
  EXPECT_GT(collapse_quality(exact, {0.6, 3.0}, options).quality, 20 * truth.quality);
}

TEST(ScalingTest, RecoversKnownCriticalNoiseAndNuWithinIntervals) {
  for (const auto& [critical, nu] : {std::pair{0.6, 2.0}, std::pair{0.27, 2.8}, std::pair{0.731, 1.6}}) {
    const auto points = synthetic(critical, nu, 0.01, 7);
    ScalingOptions options;
    options.bootstrap = 100;
    const ScalingFit fit = fit_scaling(points, options);
    EXPECT_LE(fit.critical_noise_low, critical) << critical;
    EXPECT_GE(fit.critical_noise_high, critical) << critical;
    EXPECT_LE(fit.nu_low, nu) << nu;
    EXPECT_GE(fit.nu_high, nu) << nu;
    EXPECT_NEAR(fit.best.critical_noise, critical, 0.002);
    EXPECT_NEAR(fit.best.nu, nu, 0.1 * nu);
    // The intervals say something: narrower than the searched ranges by far.
    EXPECT_LT(fit.critical_noise_high - fit.critical_noise_low, 0.01);
    EXPECT_LT(fit.nu_high - fit.nu_low, 0.5 * nu);
    EXPECT_FALSE(fit.nu_at_edge);
    EXPECT_NEAR(fit.quality.quality, 1.0, 0.5);  // the errors are the noise drawn
    EXPECT_EQ(fit.replicas.size(), 100u);
  }
}

TEST(ScalingTest, SameFitForAnyThreadCount) {
  const auto points = synthetic(0.5, 2.2, 0.02, 3);
  ScalingOptions options;
  options.bootstrap = 20;
  set_thread_count(1);
  const ScalingFit one = fit_scaling(points, options);
  set_thread_count(2);
  const ScalingFit two = fit_scaling(points, options);
  set_thread_count(0);
  EXPECT_EQ(one.best.critical_noise, two.best.critical_noise);
  EXPECT_EQ(one.best.nu, two.best.nu);
  EXPECT_EQ(one.nu_low, two.nu_low);
  EXPECT_EQ(one.critical_noise_high, two.critical_noise_high);
}

TEST(ScalingTest, NoBootstrapGivesPointIntervals) {
  ScalingOptions options;
  options.bootstrap = 0;
  const ScalingFit fit = fit_scaling(synthetic(0.6, 2.0, 0.01, 1), options);
  EXPECT_EQ(fit.critical_noise_low, fit.best.critical_noise);
  EXPECT_EQ(fit.nu_high, fit.best.nu);
  EXPECT_TRUE(fit.replicas.empty());
}

TEST(ScalingTest, RefusesWhatCannotBeFitted) {
  ScalingOptions options;
  options.bootstrap = 0;
  std::vector<ScalingPoint> one_depth;
  for (const auto& point : synthetic(0.6, 2.0, 0.01, 1))
    if (point.L == 5) one_depth.push_back(point);
  EXPECT_THROW(fit_scaling(one_depth, options), Error);
  std::vector<ScalingPoint> single_points = {{4, 0.5, 0.9, 0.01}, {5, 0.5, 0.8, 0.01}};
  EXPECT_THROW(fit_scaling(single_points, options), Error);
  std::vector<ScalingPoint> twice = {{4, 0.5, 0.9, 0.01}, {4, 0.5, 0.8, 0.01}, {5, 0.4, 0.9, 0.01}, {5, 0.6, 0.1, 0.01}};
  EXPECT_THROW(fit_scaling(twice, options), Error);
  std::vector<ScalingPoint> too_many;
  for (size_t k = 0; k <= kMaxScalingPoints; ++k) too_many.push_back({4 + static_cast<int>(k % 2), k * 1e-6, 0.5, 0.01});
  EXPECT_THROW(fit_scaling(too_many, options), Error);
  options.bootstrap = -1;
  EXPECT_THROW(validate(options), Error);
  options.bootstrap = 10;
  options.confidence = 1;
  EXPECT_THROW(validate(options), Error);
}

TEST(CorrelationLengthTest, ExactExponentialGivesItsLength) {
  std::vector<CorrelationPoint> points;
  for (int h = 1; h <= 8; ++h) {
    const double c = 0.3 * std::exp(-h / 1.5);
    points.push_back({8, 0.73, h, c, 0.05 * c});
    points.push_back({8, 0.5, h, 0.2 * std::exp(-h / 0.6), 0.01});
  }
  const auto lengths = fit_correlation_lengths(points);
  ASSERT_EQ(lengths.size(), 2u);
  EXPECT_EQ(lengths[0].noise, 0.5);
  EXPECT_NEAR(lengths[0].xi, 0.6, 1e-12);
  EXPECT_NEAR(lengths[1].xi, 1.5, 1e-12);
  EXPECT_NEAR(lengths[1].decay_per_level, std::exp(-1 / 1.5), 1e-12);
  EXPECT_EQ(lengths[1].points, 8);
  EXPECT_GT(lengths[1].xi_se, 0);
}

TEST(CorrelationLengthTest, LeavesOutWhatDoesNotDecay) {
  std::vector<CorrelationPoint> points = {{4, 0.1, 1, 0.1, 0.01}, {4, 0.1, 2, 0.2, 0.01},   // growing
                                          {4, 0.2, 1, 0.1, 0.01}, {4, 0.2, 2, -0.1, 0.01},  // one usable height
                                          {4, 0.3, 1, 0.1, 0.0}, {4, 0.3, 2, 0.05, 0.0}};   // no error bars
  EXPECT_TRUE(fit_correlation_lengths(points).empty());
  EXPECT_EQ(correlation_length_csv({}), "L,noise,xi,xi_se,decay_per_level,points\n");
}

}  // namespace
}  // namespace hdiff
