// Noise channels follow their laws; leaf likelihoods are those of SPEC §2.

#include "noise/channel.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "noise/schedule.h"
#include "support/helpers.h"
#include "support/statistics.h"

namespace hdiff {
namespace {

TEST(Channel, UniformRedrawsWithProbabilityEpsilon) {
  const int v = 5;
  const double eps = 0.3;
  const int n = 50000;
  std::vector<uint32_t> clean(n, 2), observed(n);
  RandomStream random(1, RandomDomain::noise, 0);
  corrupt_tokens({Channel::uniform, eps}, v, clean, random, observed);
  std::vector<int64_t> counts(v, 0);
  for (auto o : observed) ++counts[o];
  // P(o = a) = (1-ε)[a = 2] + ε/v
  std::vector<double> expected(v, eps / v);
  expected[2] += 1 - eps;
  EXPECT_GT(testing::chi_square_p_value(counts, expected), 1e-3);
}

TEST(Channel, MaskHidesWithProbabilityEpsilon) {
  const int v = 4;
  const int n = 40000;
  std::vector<uint32_t> clean(n, 1), observed(n);
  RandomStream random(2, RandomDomain::noise, 0);
  corrupt_tokens({Channel::mask, 0.7}, v, clean, random, observed);
  std::vector<int64_t> counts(2, 0);
  for (auto o : observed) {
    ASSERT_TRUE(o == 1 || o == mask_token(v));
    ++counts[o == mask_token(v)];
  }
  EXPECT_GT(testing::chi_square_p_value(counts, {0.3, 0.7}), 1e-3);
}

TEST(Channel, SoftKeepsEveryTokenAndDrawsNothing) {
  const int v = 6;
  std::vector<uint32_t> clean = {0, 5, 3, 3, 1, 2, 4, 0}, observed(clean.size(), 99);
  RandomStream random(4, RandomDomain::noise, 0), untouched(4, RandomDomain::noise, 0);
  for (double eps : {0.0, 0.5, 1.0}) {
    corrupt_tokens({Channel::soft, eps}, v, clean, random, observed);
    EXPECT_EQ(observed, clean) << eps;
  }
  EXPECT_EQ(random.next(), untouched.next()) << "the soft channel consumed random draws";
  EXPECT_EQ(parse_channel("soft"), Channel::soft);
  EXPECT_EQ(channel_name(Channel::soft), "soft");
}

// corrupt_batch: row n is the channel applied with the stream (seed, noise, n, 0),
// so a row does not depend on the rows beside it (hdiff corrupt and hdiff.corrupt
// both rely on it to give the same bits).
TEST(Channel, BatchRowsUseTheirOwnStreams) {
  const int v = 5, d = 4;
  const std::vector<uint32_t> clean = {0, 1, 2, 3, 4, 4, 3, 2, 1, 0, 0, 1};  // three rows
  for (const NoiseSpec noise : {NoiseSpec{Channel::uniform, 0.6}, NoiseSpec{Channel::mask, 0.5},
                                NoiseSpec{Channel::soft, 0.9}, NoiseSpec{Channel::gaussian, 0.3}}) {
    const CorruptedBatch batch = corrupt_batch(noise, v, d, clean, 11);
    const bool gaussian = noise.channel == Channel::gaussian;
    EXPECT_EQ(batch.tokens.size(), gaussian ? 0u : clean.size());
    EXPECT_EQ(batch.values.size(), gaussian ? clean.size() * v : 0u);
    for (size_t n = 0; n < 3; ++n) {
      RandomStream random(11, RandomDomain::noise, n, 0);
      const auto row = std::span<const uint32_t>(clean).subspan(n * d, d);
      if (gaussian) {
        std::vector<double> expected(d * v);
        corrupt_gaussian(noise, v, row, random, expected);
        EXPECT_EQ(std::vector<double>(batch.values.begin() + static_cast<long>(n * d * v),
                                      batch.values.begin() + static_cast<long>((n + 1) * d * v)), expected);
      } else {
        std::vector<uint32_t> expected(d);
        corrupt_tokens(noise, v, row, random, expected);
        EXPECT_EQ(std::vector<uint32_t>(batch.tokens.begin() + static_cast<long>(n * d),
                                        batch.tokens.begin() + static_cast<long>((n + 1) * d)), expected);
      }
    }
    // The last row alone, as the first of a batch of one, draws other noise (for these fixed seeds): the row
    // index picks the stream.
    const CorruptedBatch alone = corrupt_batch(noise, v, d, std::span<const uint32_t>(clean).subspan(8, 4), 11);
    const bool differs = gaussian ? alone.values != std::vector<double>(batch.values.end() - d * v, batch.values.end())
                                  : alone.tokens != std::vector<uint32_t>(batch.tokens.end() - d, batch.tokens.end());
    EXPECT_EQ(differs, noise.channel != Channel::soft) << channel_name(noise.channel);
  }
}

TEST(Channel, GaussianHasTheRightMeanAndVariance) {
  const int v = 3;
  const int n = 30000;
  const double alpha_bar = 0.64;
  std::vector<uint32_t> clean(n, 0);
  std::vector<double> observed(static_cast<size_t>(n) * v);
  RandomStream random(3, RandomDomain::noise, 0);
  corrupt_gaussian({Channel::gaussian, alpha_bar}, v, clean, random, observed);
  for (int a = 0; a < v; ++a) {
    double sum = 0, squares = 0;
    for (int i = 0; i < n; ++i) sum += observed[static_cast<size_t>(i * v + a)];
    const double mean = sum / n;
    for (int i = 0; i < n; ++i) squares += std::pow(observed[static_cast<size_t>(i * v + a)] - mean, 2);
    EXPECT_NEAR(mean, a == 0 ? 0.8 : 0.0, 5 * 0.6 / std::sqrt(n)) << "coordinate " << a;
    EXPECT_NEAR(squares / (n - 1), 0.36, 5 * 0.36 * std::sqrt(2.0 / n)) << "coordinate " << a;
  }
}

TEST(Channel, LeafLikelihoodsMatchSpec) {
  const int v = 4;
  std::vector<double> out(2 * v);
  // uniform: (1-ε)[o=a] + ε/v, already normalised.
  EXPECT_DOUBLE_EQ(token_likelihoods({Channel::uniform, 0.2}, v, std::vector<uint32_t>{1, 3}, out), 0.0);
  EXPECT_DOUBLE_EQ(out[1], 0.8 + 0.05);
  EXPECT_DOUBLE_EQ(out[0], 0.05);
  EXPECT_DOUBLE_EQ(out[v + 3], 0.85);
  // mask: observed -> indicator; MASK -> constant 1, normalised to 1/v with log v kept.
  EXPECT_NEAR(token_likelihoods({Channel::mask, 0.2}, v, std::vector<uint32_t>{2, 4}, out), std::log(4.0), 1e-15);
  EXPECT_EQ(out[2], 1.0);
  EXPECT_EQ(out[0], 0.0);
  EXPECT_EQ(out[v + 1], 0.25);
  // soft: the ε-process puts 1-ε+ε/v on the (clean) token and ε/v on every other one.
  EXPECT_DOUBLE_EQ(token_likelihoods({Channel::soft, 0.6}, v, std::vector<uint32_t>{0, 2}, out), 0.0);
  EXPECT_DOUBLE_EQ(out[0], 0.4 + 0.15);
  EXPECT_DOUBLE_EQ(out[1], 0.15);
  EXPECT_DOUBLE_EQ(out[v + 2], 0.55);
  EXPECT_DOUBLE_EQ(out[v + 3], 0.15);
  // gaussian: exp(√ᾱ/(1-ᾱ)·x[a]), normalised, log normaliser returned.
  const std::vector<double> x = {0.5, -1.0, 2.0, 0.0};
  std::vector<double> leaf(v);
  const double log_scale = gaussian_likelihoods({Channel::gaussian, 0.25}, v, x, leaf);
  const double c = 0.5 / 0.75;
  for (int a = 0; a < v; ++a) EXPECT_NEAR(leaf[static_cast<size_t>(a)] * std::exp(log_scale), std::exp(c * x[static_cast<size_t>(a)]), 1e-12);
}

TEST(Channel, BadLevelsAndTokensAreErrors) {
  EXPECT_THROW(validate(NoiseSpec{Channel::uniform, -0.1}), Error);
  EXPECT_THROW(validate(NoiseSpec{Channel::uniform, 1.1}), Error);
  EXPECT_THROW(validate(NoiseSpec{Channel::mask, std::nan("")}), Error);
  EXPECT_THROW(validate(NoiseSpec{Channel::gaussian, 1.0}), Error);
  EXPECT_NO_THROW(validate(NoiseSpec{Channel::gaussian, 0.0}));
  EXPECT_THROW(parse_channel("salt"), Error);
  std::vector<double> out(4);
  EXPECT_THROW(token_likelihoods({Channel::uniform, 0.1}, 4, std::vector<uint32_t>{4}, out), Error);
  EXPECT_THROW(token_likelihoods({Channel::mask, 0.1}, 4, std::vector<uint32_t>{5}, out), Error);
  EXPECT_THROW(token_likelihoods({Channel::soft, 0.1}, 4, std::vector<uint32_t>{4}, out), Error);
  EXPECT_THROW(validate(NoiseSpec{Channel::soft, 1.5}), Error);
  EXPECT_NO_THROW(validate(NoiseSpec{Channel::soft, 1.0}));
}

// Finite values so large that √ᾱ/(1-ᾱ)·x overflows made log p(obs) inf or NaN
// (found in review); they are refused, naming the value and its position.
TEST(Channel, GaussianValuesThatWouldOverflowAreErrors) {
  std::vector<double> out(4);
  for (const std::vector<double>& x : {std::vector<double>{0, 1e308, 0, 0}, std::vector<double>{0, 0, -1e308, 1e308},
                                       std::vector<double>{0, 0, 0, std::nan("")}}) {
    const std::string error = testing::error_of([&] { (void)gaussian_likelihoods({Channel::gaussian, 0.5}, 4, x, out); });
    EXPECT_NE(error.find("gaussian value"), std::string::npos) << error;
    EXPECT_NE(error.find("out of range"), std::string::npos) << error;
  }
  EXPECT_NE(testing::error_of([&] {
              (void)gaussian_likelihoods({Channel::gaussian, 0.5}, 4, std::vector<double>{0, 0, 0, 1e308}, out);
            }).find("leaf 0, symbol 3"),
            std::string::npos);
  // At alpha-bar = 0 the coupling is 0: the values themselves are bounded too.
  EXPECT_NE(testing::error_of([&] {
              (void)gaussian_likelihoods({Channel::gaussian, 0.0}, 4, std::vector<double>{0, -1e308, 0, 1e308}, out);
            }).find("out of range"),
            std::string::npos);
  // Large but representable values are fine, and give finite numbers.
  const double log_scale = gaussian_likelihoods({Channel::gaussian, 0.5}, 4, std::vector<double>{1e290, -1e290, 0, 5}, out);
  EXPECT_TRUE(std::isfinite(log_scale));
  for (double p : out) EXPECT_TRUE(std::isfinite(p));
}

TEST(Schedule, LinearAndCosineFollowTheirDefinitions) {
  const auto linear = alpha_bar_table(Schedule::linear);
  EXPECT_EQ(linear[0], 1.0);
  EXPECT_DOUBLE_EQ(linear[1], 1 - 1e-4);
  EXPECT_NEAR(linear[2], (1 - 1e-4) * (1 - (1e-4 + (0.02 - 1e-4) / 999)), 1e-15);
  EXPECT_NEAR(linear[1000], 4.0358e-5, 1e-8);  // DDPM's well-known final ᾱ
  const auto cosine = alpha_bar_table(Schedule::cosine);
  const auto f = [](double t) { return std::pow(std::cos((t / 1000 + 0.008) / 1.008 * M_PI / 2), 2); };
  EXPECT_NEAR(cosine[500], f(500) / f(0), 1e-12);  // unclipped in the middle
  for (size_t t = 1; t < cosine.size(); ++t) {
    ASSERT_LT(linear[t], linear[t - 1]);
    ASSERT_LT(cosine[t], cosine[t - 1]);
  }
  // ᾱ_250 from its definition, Π_{k ≤ 250} (1 − β_k) with β linear from 1e-4 to 0.02 over 1000 steps.
  double product = 1;
  for (int k = 1; k <= 250; ++k) product *= 1 - (1e-4 + (0.02 - 1e-4) * (k - 1) / 999);
  EXPECT_NEAR(alpha_bar_at(Schedule::linear, 250), product, 1e-13);
  EXPECT_THROW(alpha_bar_at(Schedule::linear, 2.5), Error);
  EXPECT_THROW(alpha_bar_at(Schedule::linear, 1001), Error);
  EXPECT_NEAR(time_at_alpha_bar(Schedule::cosine, cosine[321]), 321, 1e-9);
  EXPECT_NEAR(time_at_alpha_bar(Schedule::linear, 0.5 * (linear[100] + linear[101])), 100.5, 0.01);
}

}  // namespace
}  // namespace hdiff
