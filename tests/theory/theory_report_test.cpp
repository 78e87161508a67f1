// The reports of `hdiff theory`, computed outside the CLI: grid defaults and
// checks, the prediction table against predict_levels, the largest deviation,
// and threshold.json's content.

#include "theory/theory_report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "common/error.h"

namespace hdiff {
namespace {

TheoryParams small_params(Channel channel = Channel::uniform) {
  TheoryParams params;
  params.v = 6;
  params.n_classes = 3;
  params.m = 2;
  params.s = 2;
  params.channel = channel;
  params.population = 2000;
  params.replicas = 4;
  params.seed = 3;
  return params;
}

TEST(PredictionGrid, SortsAndDropsRepeatsOfWhatIsGiven) {
  const auto grid = prediction_grid(small_params(), {0.3, 0.1, 0.3}, {4, 2, 4}, {});
  EXPECT_EQ(grid.noise, (std::vector<double>{0.1, 0.3}));
  EXPECT_EQ(grid.depths, (std::vector<int>{2, 4}));
}

TEST(PredictionGrid, TakesTheMeasuredPointsWhenNothingIsGiven) {
  const std::vector<MeasuredPoint> measured{{5, 0.2, 0.5, 0.01}, {3, 0.1, 0.6, 0.01}, {5, 0.1, 0.4, 0.01}};
  const auto grid = prediction_grid(small_params(), {}, {}, measured);
  EXPECT_EQ(grid.noise, (std::vector<double>{0.1, 0.2}));
  EXPECT_EQ(grid.depths, (std::vector<int>{3, 5}));
  EXPECT_EQ(prediction_grid(small_params(), {0.1}, {}, {}).depths, (std::vector<int>{2, 4, 6, 8}));
}

TEST(PredictionGrid, RefusesNoiseAndDepthsOutOfRange) {
  EXPECT_THROW(prediction_grid(small_params(), {1.5}, {2}, {}), Error);
  EXPECT_THROW(prediction_grid(small_params(), {0.1}, {0}, {}), Error);
  EXPECT_THROW(prediction_grid(small_params(), {0.1}, {10001}, {}), Error);
}

TEST(PredictTable, HoldsEveryRowOfPredictLevelsAndTheClassRows) {
  const auto params = small_params();
  const PredictionGrid grid{{0.1, 0.4}, {2, 3}};
  int calls = 0;
  const auto table = predict_table(params, grid, [&] { ++calls; });
  EXPECT_EQ(calls, 2);
  std::istringstream lines(table.csv);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "v,n_classes,m,s,channel,noise,L,level,posterior_mass,posterior_mass_se,population");
  int rows = 0;
  while (std::getline(lines, line)) ++rows;
  int expected_rows = 0;
  std::vector<ClassPrediction> expected_classes;
  for (double noise : grid.noise)
    for (const auto& row : predict_levels(params, noise, grid.depths)) {
      ++expected_rows;
      if (row.level == 0) expected_classes.push_back({row.L, noise, row.posterior_mass, row.posterior_mass_se});
    }
  EXPECT_EQ(rows, expected_rows);
  EXPECT_EQ(rows, 2 * (3 + 4));  // levels 0..L for L = 2, 3 at two noise levels
  ASSERT_EQ(table.class_predictions.size(), expected_classes.size());
  for (size_t i = 0; i < expected_classes.size(); ++i) {
    EXPECT_EQ(table.class_predictions[i].L, expected_classes[i].L);
    EXPECT_EQ(table.class_predictions[i].noise, expected_classes[i].noise);
    EXPECT_EQ(table.class_predictions[i].mass, expected_classes[i].mass);  // same seed, same draws
  }
}

TEST(LargestDeviation, PicksTheLargestAbsoluteDeviationAndItsStandardErrors) {
  EXPECT_FALSE(largest_deviation({}).has_value());
  std::vector<ComparedPoint> points(3);
  points[0].deviation = 0.05;
  points[1].deviation = -0.2;
  points[1].measured = {6, 0.25, 0.7, 0.03};
  points[1].predicted = {6, 0.25, 0.5, 0.04};
  points[2].deviation = 0.1;
  const auto worst = largest_deviation(points);
  ASSERT_TRUE(worst.has_value());
  EXPECT_EQ(worst->point.measured.L, 6);
  EXPECT_EQ(worst->points, 3u);
  EXPECT_NEAR(worst->standard_errors, 0.2 / 0.05, 1e-12);
  const auto json = deviation_json(*worst);
  EXPECT_DOUBLE_EQ(json["deviation"].get<double>(), 0.2);
  EXPECT_EQ(json["L"].get<int>(), 6);
  EXPECT_NE(deviation_summary(*worst, Channel::uniform).find("L = 6, epsilon = 0.25"), std::string::npos);
  points[1].measured.agreement_se = points[1].predicted.mass_se = 0;
  EXPECT_EQ(largest_deviation(points)->standard_errors, 0.0);  // no standard error: no ratio, no NaN
}

TEST(ThresholdJson, HoldsTheResultTheProbesAndOrderedCriticalTimes) {
  ThresholdResult result;
  result.critical_noise = 0.15;
  result.interval_low = 0.14;
  result.interval_high = 0.17;
  result.probes = {{0.1, ProbeOutcome::reconstructed, 12, 0.5, 0.01}};
  const auto params = small_params();
  const auto json = threshold_json(params, {40, 1e-3}, result, 1.5);
  EXPECT_EQ(json["v"].get<int>(), 6);
  EXPECT_EQ(json["channel"].get<std::string>(), "uniform");
  EXPECT_DOUBLE_EQ(json["critical_noise"].get<double>(), 0.15);
  EXPECT_EQ(json["probes"].size(), 1u);
  for (const std::string schedule : {"linear", "cosine"}) {
    const auto& time = json["critical_time"][schedule];
    EXPECT_LE(time["interval"][0].get<double>(), time["time"].get<double>());
    EXPECT_LE(time["time"].get<double>(), time["interval"][1].get<double>());
  }
  const std::string summary = threshold_summary(params, {40, 1e-3}, result);
  EXPECT_NE(summary.find("critical epsilon = 0.150000, interval [0.140000, 0.170000]"), std::string::npos) << summary;
}

}  // namespace
}  // namespace hdiff
