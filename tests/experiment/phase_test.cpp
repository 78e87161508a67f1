// The phase experiment: its two measures agree, the transition has the expected
// shape, and results do not depend on the thread count.

#include "experiment/phase.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/parallel.h"
#include "experiment/phase_report.h"

namespace hdiff {
namespace {

PhaseConfig small_config(Channel channel, std::vector<double> levels) {
  PhaseConfig config;
  config.v = 8;
  config.n_classes = 8;
  config.m = 2;
  config.s = 2;
  config.depths = {3};
  config.grammar_seeds = {0, 1, 2};
  config.channel = channel;
  for (double level : levels) config.noise.push_back({level, std::nullopt});
  config.samples = 1500;
  config.seed = 4;
  return config;
}

TEST(Phase, AgreementAndPosteriorMassAgreeWithinError) {
  // Both estimate the same expectation: E[A_ℓ] = E[M_ℓ] for an exact posterior sample.
  const std::vector<std::pair<Channel, std::vector<double>>> grids = {
      {Channel::uniform, {0.2, 0.5}}, {Channel::mask, {0.3, 0.7}}, {Channel::gaussian, {0.1, 0.4}}};
  for (const auto& [channel, levels] : grids) {
    auto config = small_config(channel, levels);
    config.grammar_seeds = {0};  // one grammar: errors over samples, where both measures are unbiased
    const auto results = run_phase(config);
    ASSERT_EQ(results.rows.size(), levels.size() * 4);
    for (const auto& row : results.rows) {
      const double tolerance = 4 * std::hypot(row.agreement.standard_error, row.posterior_mass.standard_error);
      EXPECT_NEAR(row.agreement.mean, row.posterior_mass.mean, tolerance)
          << channel_name(channel) << " noise " << levels[row.noise_index] << " level " << row.level;
      EXPECT_GT(row.agreement.standard_error, 0);
    }
  }
}

TEST(Phase, ClassCurvesCrossAndLowLevelsSurviveLonger) {
  // A reduced default: the paper's grammar at L = 2 and 5, low and high noise.
  PhaseConfig config = parse_phase_config(kDefaultPhaseConfig, "default");
  config.depths = {2, 5};
  config.grammar_seeds = {0, 1};
  config.noise = {{0.05, std::nullopt}, {0.4, std::nullopt}};
  config.samples = 600;
  const auto results = run_phase(config);
  auto agreement = [&](int L, size_t noise, int level) {
    for (const auto& row : results.rows)
      if (row.L == L && row.noise_index == noise && row.level == level) return row.agreement;
    ADD_FAILURE() << "missing row";
    return Estimate{};
  };
  auto clearly_above = [](Estimate a, Estimate b) { return a.mean - b.mean > 3 * std::hypot(a.standard_error, b.standard_error); };
  EXPECT_TRUE(clearly_above(agreement(5, 0, 0), agreement(2, 0, 0))) << "low noise: deeper trees keep the class better";
  EXPECT_TRUE(clearly_above(agreement(2, 1, 0), agreement(5, 1, 0))) << "high noise: deeper trees lose the class";
  for (int level = 0; level < 5; ++level)
    EXPECT_LT(agreement(5, 1, level).mean, agreement(5, 1, level + 1).mean) << "level " << level;
}

TEST(Phase, CsvIsIdenticalForAnyThreadCount) {
  auto config = small_config(Channel::uniform, {0.1, 0.6});
  config.samples = 200;
  set_thread_count(1);
  const std::string one = phase_csv(config, run_phase(config));
  set_thread_count(2);
  const std::string two = phase_csv(config, run_phase(config));
  set_thread_count(0);
  EXPECT_EQ(one, two);
  EXPECT_EQ(one.substr(0, one.find('\n')), kPhaseCsvHeader);
  EXPECT_EQ(std::count(one.begin(), one.end(), '\n'), 1 + 2 * 4);
}

}  // namespace
}  // namespace hdiff
