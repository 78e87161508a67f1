// Forward–backward on text and its correlations, against hand computation.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/error.h"
#include "common/random.h"
#include "text/text_changes.h"
#include "text/text_measures.h"

namespace hdiff::text {
namespace {

// A denoiser that predicts token 0 with certainty at every masked position.
TokenDenoiser always_zero() {
  return [](const NoisyTokens& batch, std::span<double> out) {
    const auto v = static_cast<size_t>(batch.v);
    for (size_t row = 0; row < batch.tokens.size(); ++row) {
      const uint32_t token = batch.tokens[row] == static_cast<uint32_t>(batch.v) ? 0 : batch.tokens[row];
      for (size_t a = 0; a < v; ++a) out[row * v + a] = a == token ? 0.0 : -INFINITY;
    }
  };
}

// A denoiser with the same distribution p(a) at every masked position.
TokenDenoiser fixed(std::vector<double> p) {
  return [p](const NoisyTokens& batch, std::span<double> out) {
    const auto v = static_cast<size_t>(batch.v);
    for (size_t row = 0; row < batch.tokens.size(); ++row)
      for (size_t a = 0; a < v; ++a)
        out[row * v + a] = batch.tokens[row] == static_cast<uint32_t>(batch.v)
                               ? std::log(p[a])
                               : (a == batch.tokens[row] ? 0.0 : -INFINITY);
  };
}

TEST(ChangeCorrelation, MatchesAHandComputedCase) {
  // One sequence, two trajectories of d = 3: [1,1,0] and [0,0,0]. Centred on
  // the means [.5,.5,0]: C(0) = 4·(2·(.25+.25)/3) = 4/3, C(1) = 4·(2·.25/2) = 1, C(2) = 0.
  const std::vector<uint8_t> changed = {1, 1, 0, 0, 0, 0};
  const auto c = change_correlation(changed, 1, 2, 3, 4);
  ASSERT_EQ(c.size(), 5u);
  EXPECT_NEAR(c[0]->mean, 4.0 / 3, 1e-12);
  EXPECT_NEAR(c[1]->mean, 1.0, 1e-12);
  EXPECT_NEAR(c[2]->mean, 0.0, 1e-12);
  EXPECT_FALSE(c[3].has_value());  // beyond d − 1
  // C(r)/C(0): 1, 0.75, 0: it falls to 1/e between r = 1 and 2.
  EXPECT_NEAR(*correlation_length(c), 1 + (0.75 - std::exp(-1.0)) / 0.75, 1e-12);
  // Two sequences: the standard error over them.
  const std::vector<uint8_t> two = {1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0};
  const auto c2 = change_correlation(two, 2, 2, 3, 2);
  // Second sequence: centred [.5,0,0],[-.5,0,0]: C(0) = 4·(2·.25/3) = 2/3, C(1) = 0.
  EXPECT_NEAR(c2[0]->mean, (4.0 / 3 + 2.0 / 3) / 2, 1e-12);
  EXPECT_NEAR(c2[0]->standard_error, std::abs(4.0 / 3 - 2.0 / 3) / 2, 1e-12);
  EXPECT_NEAR(c2[1]->mean, 0.5, 1e-12);
}

TEST(TextChanges, AlwaysZeroDenoiserChangesExactlyTheMaskedNonZeroTokens) {
  const int v = 3;
  const int64_t d = 12, sequences = 5;
  std::vector<uint32_t> clean(static_cast<size_t>(sequences * d));
  for (size_t i = 0; i < clean.size(); ++i) clean[i] = static_cast<uint32_t>((i * 7 + i / 5) % v);
  TextChangesConfig config;
  config.noise = {0.0, 0.4, 1.0};
  config.trajectories = 3;
  config.window = 2;
  config.max_distance = 4;
  config.seed = 9;
  const TextChangesResult result = text_changes(always_zero(), v, d, clean, config);
  ASSERT_EQ(result.rows.size(), 3u);
  for (size_t j = 0; j < config.noise.size(); ++j) {
    // The change pattern by hand: the masks from the documented streams.
    std::vector<uint8_t> changed;
    for (int64_t n = 0; n < sequences; ++n)
      for (int r = 0; r < config.trajectories; ++r) {
        RandomStream masking(config.seed, RandomDomain::noise, static_cast<uint64_t>(n),
                             static_cast<uint64_t>(j) | (static_cast<uint64_t>(r) << 32));
        for (int64_t i = 0; i < d; ++i) {
          const bool masked = masking.uniform() < config.noise[j];
          changed.push_back(masked && clean[static_cast<size_t>(n * d + i)] != 0);
        }
      }
    double fraction = 0;
    for (uint8_t x : changed) fraction += x;
    fraction /= static_cast<double>(changed.size());
    const TextChangesRow& row = result.rows[j];
    EXPECT_NEAR(row.changes.changed_fraction, fraction, 1e-12) << j;
    const auto expected = change_correlation(changed, sequences, config.trajectories, d, config.max_distance);
    ASSERT_EQ(row.correlation.size(), expected.size());
    for (size_t r = 0; r < expected.size(); ++r) {
      ASSERT_EQ(row.correlation[r].has_value(), expected[r].has_value());
      if (expected[r]) EXPECT_NEAR(row.correlation[r]->mean, expected[r]->mean, 1e-12);
    }
    // The windowed χ is C(0) + 2·Σ_{r=1..R} C(r), per sequence, hence in mean.
    ASSERT_TRUE(row.changes.susceptibility_window.has_value());
    const double window = expected[0]->mean + 2 * (expected[1]->mean + expected[2]->mean);
    EXPECT_NEAR(row.changes.susceptibility_window->mean, window, 1e-12) << j;
  }
  // At t = 0 nothing is masked, so nothing changes; at t = 1 every non-zero
  // token changes in every trajectory, so no change varies: χ undefined.
  EXPECT_EQ(result.rows[0].changes.changed_fraction, 0.0);
  EXPECT_FALSE(result.rows[2].changes.susceptibility.has_value());
  // The sample grid's first trajectory: masked input and output.
  EXPECT_EQ(result.masked[2][0], static_cast<uint32_t>(v));
  EXPECT_EQ(result.denoised[2][0], 0u);
}

TEST(TextChanges, SameSeedSameResultAndBadConfigsAreRefused) {
  const int v = 4;
  const int64_t d = 8;
  std::vector<uint32_t> clean(32);
  for (size_t i = 0; i < clean.size(); ++i) clean[i] = static_cast<uint32_t>(i % v);
  TextChangesConfig config;
  config.noise = {0.5};
  const auto a = text_changes(fixed({0.1, 0.2, 0.3, 0.4}), v, d, clean, config);
  const auto b = text_changes(fixed({0.1, 0.2, 0.3, 0.4}), v, d, clean, config);
  EXPECT_EQ(a.denoised, b.denoised);
  config.trajectories = 1;
  EXPECT_THROW(text_changes(always_zero(), v, d, clean, config), Error);
  config.trajectories = 2;
  config.noise = {1.5};
  EXPECT_THROW(text_changes(always_zero(), v, d, clean, config), Error);
  config.noise = {0.5};
  clean[3] = 9;
  EXPECT_THROW(text_changes(always_zero(), v, d, clean, config), Error);
}

TEST(TextMeasures, BitsPerTokenOfAFixedDenoiserIsItsCrossEntropy) {
  // Every masked token is scored by the same p: the bound is the mean over
  // levels of (1/(t·d))·Σ_masked −log₂ p(x₀), whose expectation is the
  // cross-entropy Σ_a q(a)·(−log₂ p(a)) of the clean tokens' frequencies q.
  const int v = 2;
  const int64_t d = 16, count = 400;
  std::vector<uint32_t> clean(static_cast<size_t>(d * count));
  for (size_t i = 0; i < clean.size(); ++i) clean[i] = i % 4 == 0 ? 1 : 0;  // q = (3/4, 1/4)
  const double expected = 0.75 * -std::log2(0.5) + 0.25 * -std::log2(0.5);
  const Estimate bits = masked_bits_per_token(fixed({0.5, 0.5}), v, d, clean, 3);
  EXPECT_NEAR(bits.mean, expected, 4 * bits.standard_error + 1e-9);
  const double skewed = 0.75 * -std::log2(0.75) + 0.25 * -std::log2(0.25);
  const Estimate good = masked_bits_per_token(fixed({0.75, 0.25}), v, d, clean, 3);
  EXPECT_NEAR(good.mean, skewed, 4 * good.standard_error);
  EXPECT_LT(good.mean, bits.mean);
}

}  // namespace
}  // namespace hdiff::text
