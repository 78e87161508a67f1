// compare_losses: exact BP as the "network" meets its own floor, a wrong
// denoiser is above it, and the floor itself is checked at ε = 0 and, under
// mask, at ε = 1 against the token marginals of an enumeration.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/parallel.h"
#include "denoiser/measure.h"
#include "denoiser/tables.h"
#include "grammar/sampling.h"
#include "support/enumeration.h"
#include "support/helpers.h"

namespace hdiff {
namespace {

using testing::error_of;

const GrammarParams kParams{6, 3, 2, 2, 3, 11};  // d = 8

// `count` clean strings of the grammar (tokens only).
std::vector<uint32_t> clean_strings(const Grammar& grammar, int64_t count, uint64_t seed) {
  const SampleBatch batch = sample_batch(grammar, seed, 0, count);
  const int64_t d = sequence_length(grammar.params), leaves = level_offset(grammar.params, grammar.params.L);
  std::vector<uint32_t> tokens;
  for (int64_t n = 0; n < count; ++n) {
    const auto tree = batch.tree(n);
    tokens.insert(tokens.end(), tree.begin() + leaves, tree.begin() + leaves + d);
  }
  return tokens;
}

// A denoiser that knows nothing: every row uniform over [v].
TokenDenoiser uniform_rows() {
  return [](const NoisyTokens& batch, std::span<double> out) { std::fill(out.begin(), out.end(), -std::log(batch.v)); };
}

TEST(CompareLosses, ExactBpMeetsItsOwnFloor) {
  const Grammar grammar = make_random_grammar(kParams);
  const auto clean = clean_strings(grammar, 400, 1);
  for (Channel channel : {Channel::mask, Channel::uniform}) {
    const std::vector<double> noise = {0.1, 0.5, 0.9};
    const auto rows = compare_losses(grammar, bp_token_denoiser(grammar), channel, noise, clean, 7);
    ASSERT_EQ(rows.size(), 3u);
    for (const auto& row : rows) {
      EXPECT_NEAR(row.loss_net.mean, row.loss_bayes.mean, 1e-12) << channel_name(channel) << " " << row.noise;
      EXPECT_NEAR(row.kl.mean, 0.0, 1e-12);
      EXPECT_EQ(row.top_agreement.mean, 1.0);
      EXPECT_GT(row.loss_bayes.mean, 0.0);
      EXPECT_GT(row.loss_bayes.standard_error, 0.0);
      EXPECT_GT(row.noised_tokens, 0);
    }
    // More noise, less known: the floor grows with the noise.
    EXPECT_LT(rows[0].loss_bayes.mean, rows[1].loss_bayes.mean);
    EXPECT_LT(rows[1].loss_bayes.mean, rows[2].loss_bayes.mean);
  }
}

TEST(CompareLosses, AWrongDenoiserIsAboveTheFloor) {
  const Grammar grammar = make_random_grammar(kParams);
  const auto clean = clean_strings(grammar, 300, 2);
  for (Channel channel : {Channel::mask, Channel::uniform}) {
    const std::vector<double> noise = {0.2, 0.6};
    const auto rows = compare_losses(grammar, uniform_rows(), channel, noise, clean, 3);
    for (const auto& row : rows) {
      // Uniform rows cost log v per noised token, whatever the token.
      EXPECT_NEAR(row.loss_net.mean, std::log(6.0), 1e-12);
      EXPECT_GT(row.loss_net.mean, row.loss_bayes.mean + 5 * row.loss_bayes.standard_error);
      EXPECT_GT(row.kl.mean, 0.1);
      EXPECT_LT(row.top_agreement.mean, 1.0);
    }
  }
}

// BP's rows tie exactly where several productions stay equally likely; a
// denoiser that breaks every tie towards the largest token is still always
// on one of BP's most likely tokens, while the wrong rows are not.
TEST(CompareLosses, TopAgreementCountsAnyOfBpsTiedTokens) {
  const Grammar grammar = make_random_grammar(kParams);
  const auto clean = clean_strings(grammar, 200, 5);
  const TokenDenoiser bp = bp_token_denoiser(grammar);
  const TokenDenoiser largest_on_ties = [&](const NoisyTokens& batch, std::span<double> out) {
    bp(batch, out);
    for (size_t k = 0; k < out.size(); ++k)
      if (out[k] > -std::numeric_limits<double>::infinity()) out[k] += 1e-9 * static_cast<double>(k % batch.v);
  };
  const std::vector<double> noise = {0.2, 0.5};
  int ties_seen = 0;
  for (const auto& row : compare_losses(grammar, largest_on_ties, Channel::mask, noise, clean, 2)) {
    EXPECT_EQ(row.top_agreement.mean, 1.0) << row.noise;
    EXPECT_LT(row.kl.mean, 1e-6) << row.noise;
    ++ties_seen;
  }
  EXPECT_EQ(ties_seen, 2);
  for (const auto& row : compare_losses(grammar, uniform_rows(), Channel::mask, noise, clean, 2))
    EXPECT_LT(row.top_agreement.mean, 0.9) << row.noise;
}

TEST(CompareLosses, ZeroProbabilityForAPossibleTokenIsAnInfiniteKl) {
  const Grammar grammar = make_random_grammar(kParams);
  const auto clean = clean_strings(grammar, 50, 2);
  // Every row certain of token 0.
  const TokenDenoiser certain = [](const NoisyTokens& batch, std::span<double> out) {
    for (size_t k = 0; k < out.size(); ++k) out[k] = k % static_cast<size_t>(batch.v) == 0 ? 0.0 : -INFINITY;
  };
  const std::vector<double> noise = {0.5};
  const auto rows = compare_losses(grammar, certain, Channel::mask, noise, clean, 3);
  EXPECT_EQ(rows[0].kl.mean, INFINITY);
  EXPECT_EQ(rows[0].kl.standard_error, INFINITY);
  EXPECT_EQ(rows[0].loss_net.mean, INFINITY);
  EXPECT_TRUE(std::isfinite(rows[0].loss_bayes.mean));
  EXPECT_NE(loss_csv(Channel::mask, rows).find(",inf,inf,"), std::string::npos);
}

TEST(CompareLosses, NoNoiseNoLoss) {
  const Grammar grammar = make_random_grammar(kParams);
  const auto clean = clean_strings(grammar, 100, 4);
  const std::vector<double> zero = {0.0};
  // Uniform at ε = 0: every token is a noised token, and BP knows it for sure.
  const auto uniform = compare_losses(grammar, bp_token_denoiser(grammar), Channel::uniform, zero, clean, 1);
  EXPECT_EQ(uniform[0].loss_bayes.mean, 0.0);
  EXPECT_EQ(uniform[0].noised_tokens, 100 * 8);
  // Mask at ε = 0: nothing masked, nothing to measure.
  const auto mask = compare_losses(grammar, uniform_rows(), Channel::mask, zero, clean, 1);
  EXPECT_EQ(mask[0].noised_tokens, 0);
  EXPECT_EQ(mask[0].loss_net.mean, 0.0);
}

TEST(CompareLosses, FullyMaskedFloorIsThePriorTokenEntropy) {
  const Grammar grammar = make_random_grammar(kParams);
  const int64_t count = 2000, d = 8;
  const auto clean = clean_strings(grammar, count, 5);
  // The prior token marginals by enumeration: no evidence at all.
  const auto prior = testing::enumerate_posterior(grammar, [](int64_t, uint32_t) { return 0.0; });
  const auto& marginals = prior.marginals[static_cast<size_t>(kParams.L)];
  double entropy = 0, expected_loss = 0;
  for (int64_t i = 0; i < d; ++i)
    for (int a = 0; a < kParams.v; ++a) {
      const double q = marginals[static_cast<size_t>(i * kParams.v + a)];
      if (q > 0) entropy -= q * std::log(q) / static_cast<double>(d);
    }
  for (int64_t n = 0; n < count; ++n)
    for (int64_t i = 0; i < d; ++i)
      expected_loss -= std::log(marginals[static_cast<size_t>(i * kParams.v + clean[static_cast<size_t>(n * d + i)])]) /
                       static_cast<double>(count * d);
  const std::vector<double> one = {1.0};
  const auto rows = compare_losses(grammar, bp_token_denoiser(grammar), Channel::mask, one, clean, 1);
  EXPECT_EQ(rows[0].noised_tokens, count * d);
  // The clean strings' log-loss under the prior marginals (BP's batch path
  // sums in float32: relative error ~1e-7)...
  EXPECT_NEAR(rows[0].loss_bayes.mean, expected_loss, 1e-6 * expected_loss);
  // ...whose expectation over strings is the marginals' entropy.
  EXPECT_NEAR(rows[0].loss_bayes.mean, entropy, 4 * rows[0].loss_bayes.standard_error);
}

TEST(CompareLosses, RowsDoNotDependOnThreads) {
  const Grammar grammar = make_random_grammar(kParams);
  const auto clean = clean_strings(grammar, 300, 6);
  const std::vector<double> noise = {0.3, 0.7};
  for (Channel channel : {Channel::mask, Channel::uniform}) {
    set_thread_count(1);
    const std::string one = loss_csv(channel, compare_losses(grammar, uniform_rows(), channel, noise, clean, 8));
    set_thread_count(2);
    const std::string two = loss_csv(channel, compare_losses(grammar, uniform_rows(), channel, noise, clean, 8));
    EXPECT_EQ(one, two);
    EXPECT_EQ(std::count(one.begin(), one.end(), '\n'), 3);
  }
}

TEST(CompareLosses, BadInputsAreRefused) {
  const Grammar grammar = make_random_grammar(kParams);
  const auto clean = clean_strings(grammar, 10, 1);
  const auto bp = bp_token_denoiser(grammar);
  const std::vector<double> ok = {0.5}, bad = {1.5};
  EXPECT_NE(error_of([&] { compare_losses(grammar, bp, Channel::gaussian, ok, clean, 0); }).find("choose mask or uniform"),
            std::string::npos);
  EXPECT_NE(error_of([&] { compare_losses(grammar, bp, Channel::mask, bad, clean, 0); }).find("[0, 1]"), std::string::npos);
  const std::vector<uint32_t> ragged(clean.begin(), clean.end() - 1);
  EXPECT_NE(error_of([&] { compare_losses(grammar, bp, Channel::mask, ok, ragged, 0); }).find("multiple of d = 8"),
            std::string::npos);
  // A denoiser whose rows do not sum to one is stopped with one line naming the row.
  const TokenDenoiser unnormalised = [](const NoisyTokens&, std::span<double> out) { std::fill(out.begin(), out.end(), 0.0); };
  EXPECT_EQ(error_of([&] { compare_losses(grammar, unnormalised, Channel::uniform, ok, clean, 0); }),
            "the denoiser's probabilities for string 0, position 0 sum to 6, not 1");
  const TokenDenoiser untouched = [](const NoisyTokens&, std::span<double>) {};
  EXPECT_NE(error_of([&] { compare_losses(grammar, untouched, Channel::uniform, ok, clean, 0); }).find("log-probability nan"),
            std::string::npos);
}

}  // namespace
}  // namespace hdiff
