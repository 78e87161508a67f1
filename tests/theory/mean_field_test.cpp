// The mean-field map of the soft channel against an evaluation of F written out
// here from the formula, with its own bisection for p*.

#include "theory/mean_field.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "common/error.h"

namespace hdiff {
namespace {

// F(p) as the issue writes it, with n·m productions per level.
double reference_map(int v, int m, int s, int n, double p) {
  const double tuples = std::pow(static_cast<double>(v), s) - 1;
  const double ps = std::pow(p, s);
  return (ps + (m - 1) * (1 - ps) / tuples) / (ps + (n * m - 1.0) * (1 - ps) / tuples);
}

// p* by bisection on F(p) − p over (1/v, 1): F lies below the diagonal just above
// 1/v and above it just below 1 when the transition exists.
double reference_p_star(int v, int m, int s) {
  double low = 1.0 / v + 1e-6, high = 1.0 - 1e-9;
  const auto g = [&](double p) { return reference_map(v, m, s, v, p) - p; };
  EXPECT_LT(g(low), 0);
  EXPECT_GT(g(high), 0);
  for (int i = 0; i < 200; ++i) {
    const double middle = (low + high) / 2;
    (g(middle) < 0 ? low : high) = middle;
  }
  return (low + high) / 2;
}

double reference_slope(int v, int m, int s, double p) {
  const double h = 1e-6;
  return (reference_map(v, m, s, v, p + h) - reference_map(v, m, s, v, p - h)) / (2 * h);
}

struct Case {
  int v, m, s;
};

class MeanFieldAgainstReference : public ::testing::TestWithParam<Case> {};

TEST_P(MeanFieldAgainstReference, FixedPointSlopesAndExponent) {
  const auto [v, m, s] = GetParam();
  const MeanFieldModel model{v, v, m, s};
  const MeanFieldResult result = solve_mean_field(model);
  const double p_star = reference_p_star(v, m, s);
  EXPECT_NEAR(result.p_star, p_star, 1e-12);
  EXPECT_NEAR(result.critical_noise, (1 - p_star) / (1 - 1.0 / v), 1e-12);
  const double slope = reference_slope(v, m, s, p_star);
  EXPECT_NEAR(result.slope_at_p_star, slope, 1e-6);
  EXPECT_GT(result.slope_at_p_star, 1);
  EXPECT_NEAR(result.slope_at_one, reference_slope(v, m, s, 1 - 1e-6), 1e-4);
  EXPECT_NEAR(result.slope_at_one, s * m * (v - 1.0) / (std::pow(static_cast<double>(v), s) - 1), 1e-12);
  EXPECT_NEAR(result.nu, std::log(s) / std::log(slope), 1e-5);
  ASSERT_EQ(result.fixed_points.size(), 3u);
  EXPECT_DOUBLE_EQ(result.fixed_points.front(), 1.0 / v);
  EXPECT_DOUBLE_EQ(result.fixed_points.back(), 1.0);
  for (double p : result.fixed_points) EXPECT_NEAR(reference_map(v, m, s, v, p), p, 1e-12) << p;
  // The map itself, away from the fixed points, and with a different root alphabet.
  for (double p : {0.05, 0.3, 0.5, 0.77, 0.99}) {
    EXPECT_NEAR(mean_field_map(model, p, v), reference_map(v, m, s, v, p), 1e-14);
    EXPECT_NEAR(mean_field_map(model, p, 3), reference_map(v, m, s, 3, p), 1e-14);
    EXPECT_NEAR(mean_field_slope(model, p, v), reference_slope(v, m, s, p), 1e-6);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, MeanFieldAgainstReference,
                         ::testing::Values(Case{32, 8, 2}, Case{16, 4, 2}, Case{32, 16, 2}, Case{8, 4, 3},
                                           Case{10, 5, 3}, Case{4, 6, 4}));

TEST(MeanField, UnstableTrivialFixedPointMeansEveryNoiseBelowOneIsReconstructed) {
  // v = 8, m = 2, s = 3: F'(1/v) = s(v−1)v^(s−1)/(m(v^s−1)) = 1344/1022 > 1, and no fixed point lies between.
  const int v = 8, m = 2, s = 3;
  for (int i = 1; i < 1000; ++i) {
    const double p = 1.0 / v + (1 - 1.0 / v) * i / 1000;
    ASSERT_GT(reference_map(v, m, s, v, p), p) << p;
  }
  const MeanFieldResult result = solve_mean_field({v, v, m, s});
  EXPECT_EQ(result.fixed_points.size(), 2u);
  EXPECT_DOUBLE_EQ(result.p_star, 1.0 / v);
  EXPECT_DOUBLE_EQ(result.critical_noise, 1.0);
  EXPECT_NEAR(result.slope_at_p_star, 1344.0 / 1022, 1e-12);
}

TEST(MeanField, PapersSetting) {
  const MeanFieldResult result = solve_mean_field({32, 32, 8, 2});
  EXPECT_NEAR(result.critical_noise, 0.731, 0.001);
  EXPECT_NEAR(result.nu, 1.89, 0.005);
  const auto json = mean_field_json({32, 32, 8, 2}, result);
  for (const char* key : {"p_star", "critical_noise", "slope_at_p_star", "slope_at_one", "nu", "v", "n_classes", "m", "s"})
    EXPECT_TRUE(json.contains(key)) << key;
  EXPECT_EQ(json["channel"], "soft");
  EXPECT_NE(mean_field_summary({32, 32, 8, 2}, result).find("0.7311"), std::string::npos);
}

TEST(MeanField, FiniteTreeFlowsAwayFromCriticalNoise) {
  const MeanFieldModel model{32, 32, 8, 2};
  const double critical = solve_mean_field(model).critical_noise;
  // Below ε* the class belief grows with depth toward 1, above it it falls toward 1/v.
  EXPECT_GT(mean_field_class_belief(model, critical - 0.02, 12), mean_field_class_belief(model, critical - 0.02, 4));
  EXPECT_GT(mean_field_class_belief(model, critical - 0.02, 30), 0.99);
  EXPECT_LT(mean_field_class_belief(model, critical + 0.02, 12), mean_field_class_belief(model, critical + 0.02, 4));
  EXPECT_LT(mean_field_class_belief(model, critical + 0.02, 30), 1.0 / 32 + 0.01);
  // L = 1 is the root step alone, on its own alphabet.
  const MeanFieldModel few_classes{32, 4, 8, 2};
  EXPECT_NEAR(mean_field_class_belief(few_classes, 0.5, 1), reference_map(32, 8, 2, 4, 1 - 0.5 + 0.5 / 32), 1e-15);
  EXPECT_THROW(mean_field_class_belief(model, 0.5, 0), Error);
}

TEST(MeanField, ExistenceConditionFailsWithAClearMessage) {
  // s·m·(v−1)/(v^s−1) = 2·4·3/15 = 1.6.
  try {
    solve_mean_field({4, 4, 4, 2});
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("no transition"), std::string::npos) << message;
    EXPECT_NE(message.find("1.6"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  EXPECT_THROW(solve_mean_field({32, 32, 32, 2}), Error);  // ratio 1.94
  EXPECT_THROW(solve_mean_field({1, 1, 1, 2}), Error);     // not a grammar
  EXPECT_THROW(solve_mean_field({4, 4, 32, 2}), Error);    // v·m > v^s
}

}  // namespace
}  // namespace hdiff
