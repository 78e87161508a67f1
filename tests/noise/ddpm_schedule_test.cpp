// The one DDPM schedule (noise/schedule.h): its betas are, bit for bit, those the
// image sampler computed with its own copy of guided-diffusion's formulas before
// the two were merged, and the token channels' ᾱ table is the cumulative product
// of the same betas.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <string>
#include <vector>

#include "noise/schedule.h"

namespace {

using hdiff::Schedule;

// The image sampler's beta_schedule as it was (src/image/diffusion/diffusion_schedule.cpp
// before issue 27): the reference the shared schedule must reproduce exactly.
std::vector<double> image_betas_before(const std::string& name, int steps) {
  std::vector<double> betas(static_cast<size_t>(steps));
  if (name == "linear") {
    const double scale = 1000.0 / steps;
    const double start = scale * 0.0001, end = scale * 0.02;
    const double step = (end - start) / (steps - 1);
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

// The token channels' cosine table as it was (src/noise/schedule.cpp before issue 27).
std::vector<double> token_cosine_table_before() {
  const int T = hdiff::kDiffusionSteps;
  std::vector<double> table(T + 1);
  table[0] = 1.0;
  const double offset = 0.008;
  auto f = [&](double t) {
    const double c = std::cos((t / T + offset) / (1 + offset) * std::numbers::pi / 2);
    return c * c;
  };
  for (int k = 1; k <= T; ++k) table[k] = table[k - 1] * (1.0 - std::min(1.0 - f(k) / f(k - 1), 0.999));
  return table;
}

// Equal as bit patterns (so -0.0 != 0.0 and NaN == NaN would both be caught).
bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

TEST(DdpmSchedule, BetasAreTheImageSamplersBitForBit) {
  for (const int steps : {1, 2, 10, 50, 100, 250, 999, 1000, 4000}) {
    EXPECT_TRUE(same_bits(hdiff::ddpm_betas(Schedule::linear, steps), image_betas_before("linear", steps)))
        << "linear, " << steps << " steps";
    EXPECT_TRUE(same_bits(hdiff::ddpm_betas(Schedule::cosine, steps), image_betas_before("cosine", steps)))
        << "cosine, " << steps << " steps";
  }
}

TEST(DdpmSchedule, LinearEndsExactlyAtTheScaledEnds) {
  const auto betas = hdiff::ddpm_betas(Schedule::linear, 250);
  EXPECT_EQ(betas.front(), 4.0 * 0.0001);
  EXPECT_EQ(betas.back(), 4.0 * 0.02);
  EXPECT_EQ(hdiff::ddpm_betas(Schedule::linear, 1), std::vector<double>{1000.0 * 0.02});
}

TEST(DdpmSchedule, AlphaBarTableIsTheProductOfTheSameBetas) {
  for (const Schedule s : {Schedule::linear, Schedule::cosine}) {
    const auto betas = hdiff::ddpm_betas(s, hdiff::kDiffusionSteps);
    const auto table = hdiff::alpha_bar_table(s);
    ASSERT_EQ(table.size(), betas.size() + 1);
    double product = 1.0;
    EXPECT_EQ(table[0], 1.0);
    for (size_t k = 1; k < table.size(); ++k) {
      product *= 1.0 - betas[k - 1];
      EXPECT_EQ(table[k], product) << k;
    }
  }
}

TEST(DdpmSchedule, TokenCosineTableUnchanged) {
  EXPECT_TRUE(same_bits(hdiff::alpha_bar_table(Schedule::cosine), token_cosine_table_before()));
}

// The token channels' linear table used to add (0.02 - 1e-4)(t-1)/(T-1) to 1e-4 in
// another order than numpy.linspace; the shared betas move it by rounding only.
TEST(DdpmSchedule, TokenLinearTableMovesByRoundingOnly) {
  const int T = hdiff::kDiffusionSteps;
  const auto table = hdiff::alpha_bar_table(Schedule::linear);
  double before = 1.0;
  for (int k = 1; k <= T; ++k) {
    before *= 1.0 - (1e-4 + (0.02 - 1e-4) * (k - 1) / (T - 1));
    EXPECT_NEAR(table[static_cast<size_t>(k)], before, 1e-15 * before) << k;
  }
}

TEST(DdpmSchedule, AlphaBarsOfNoBetasIsOne) {
  EXPECT_EQ(hdiff::alpha_bars({}), std::vector<double>{1.0});
  EXPECT_EQ(hdiff::alpha_bars({0.5, 0.5}), (std::vector<double>{1.0, 0.5, 0.25}));
}

}  // namespace
