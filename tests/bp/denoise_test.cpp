// Batch denoising: identical for any thread count, errors name the observation.

#include "bp/denoise.h"

#include "bp/belief_propagation.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "common/parallel.h"
#include "grammar/sampling.h"
#include "support/enumeration.h"
#include "support/helpers.h"

namespace hdiff {
namespace {

std::vector<uint32_t> noisy_tokens(const Grammar& grammar, const NoiseSpec& noise, int64_t count) {
  const auto& p = grammar.params;
  const int64_t d = sequence_length(p);
  const auto batch = sample_batch(grammar, 3, 0, count);
  std::vector<uint32_t> tokens(static_cast<size_t>(count * d));
  for (int64_t n = 0; n < count; ++n) {
    RandomStream random(4, RandomDomain::noise, static_cast<uint64_t>(n));
    corrupt_tokens(noise, p.v, batch.tree(n).subspan(static_cast<size_t>(level_offset(p, p.L))), random,
                   {tokens.data() + n * d, static_cast<size_t>(d)});
  }
  return tokens;
}

TEST(Denoise, ResultsAreIdenticalForAnyThreadCount) {
  const Grammar grammar = make_random_grammar({8, 8, 3, 2, 4, 1});
  DenoiseRequest request;
  request.noise = {Channel::mask, 0.5};
  request.posterior_samples = 3;
  request.map = true;
  request.seed = 9;
  const auto tokens = noisy_tokens(grammar, request.noise, 40);
  Observations observations{40, tokens, {}};
  set_thread_count(1);
  const auto one = denoise(grammar, observations, request);
  set_thread_count(2);
  const auto two = denoise(grammar, observations, request);
  set_thread_count(0);
  EXPECT_EQ(one.posterior_tokens, two.posterior_tokens);
  EXPECT_EQ(one.map_tokens, two.map_tokens);
  EXPECT_EQ(one.log_evidence, two.log_evidence);
  EXPECT_EQ(one.marginals, two.marginals);
}

TEST(Denoise, MarginalsAndEvidenceEqualTheDoublePath) {
  const Grammar grammar = make_random_grammar({16, 8, 4, 2, 5, 2});
  const auto& p = grammar.params;
  DenoiseRequest request;
  request.noise = {Channel::uniform, 0.3};
  const int64_t count = 21;  // a partial last batch
  const auto tokens = noisy_tokens(grammar, request.noise, count);
  const auto result = denoise(grammar, {count, tokens, {}}, request);
  const int64_t d = sequence_length(p);
  TreeMessages messages(p);
  for (int64_t n = 0; n < count; ++n) {
    messages.leaf_log_scale = token_likelihoods(request.noise, p.v, {tokens.data() + n * d, static_cast<size_t>(d)}, messages.leaves());
    upward_messages(grammar, messages);
    downward_messages(grammar, messages);
    EXPECT_NEAR(result.log_evidence[static_cast<size_t>(n)], messages.log_evidence, 1e-6 * std::fabs(messages.log_evidence));
    for (int level = 0; level <= p.L; ++level) {
      const int64_t size = nodes_at_level(p, level) * symbols_at_level(p, level);
      std::vector<double> exact(static_cast<size_t>(size));
      node_marginals(grammar, messages, level, exact);
      for (int64_t k = 0; k < size; ++k) {
        const double fast = result.marginals[static_cast<size_t>(level)][static_cast<size_t>(n * size + k)];
        ASSERT_NEAR(fast, exact[static_cast<size_t>(k)], 1e-5 * exact[static_cast<size_t>(k)] + 1e-30) << n << " " << level << " " << k;
      }
    }
  }
}

// --precision double: the reference path's marginals and log-evidence equal
// enumeration to 1e-12 on every channel, for any thread count, with posterior
// draws and MAP strings from the same streams.
TEST(Denoise, DoublePrecisionEqualsEnumeration) {
  const Grammar grammar = make_random_grammar({4, 3, 2, 2, 2, 7});
  const auto& p = grammar.params;
  const int64_t d = sequence_length(p);
  const int64_t count = 19;
  for (const NoiseSpec& noise : {NoiseSpec{Channel::uniform, 0.4}, NoiseSpec{Channel::mask, 0.6},
                                 NoiseSpec{Channel::soft, 0.7}, NoiseSpec{Channel::gaussian, 0.2}}) {
    DenoiseRequest request;
    request.noise = noise;
    request.precision = Precision::float64;
    request.posterior_samples = 2;
    request.map = true;
    request.seed = 3;
    std::vector<uint32_t> tokens;
    std::vector<double> values;
    Observations observations{count, {}, {}};
    if (noise.channel == Channel::gaussian) {
      const auto batch = sample_batch(grammar, 3, 0, count);
      values.resize(static_cast<size_t>(count * d * p.v));
      for (int64_t n = 0; n < count; ++n) {
        RandomStream random(4, RandomDomain::noise, static_cast<uint64_t>(n));
        corrupt_gaussian(noise, p.v, batch.tree(n).subspan(static_cast<size_t>(level_offset(p, p.L))), random,
                         {values.data() + n * d * p.v, static_cast<size_t>(d * p.v)});
      }
      observations.values = values;
    } else {
      tokens = noisy_tokens(grammar, noise, count);
      observations.tokens = tokens;
    }
    set_thread_count(1);
    const DenoiseResult result = denoise(grammar, observations, request);
    set_thread_count(2);
    const DenoiseResult two = denoise(grammar, observations, request);
    set_thread_count(0);
    EXPECT_EQ(result.marginals, two.marginals);
    EXPECT_EQ(result.log_evidence, two.log_evidence);
    EXPECT_EQ(result.posterior_tokens, two.posterior_tokens);
    EXPECT_EQ(result.map_tokens, two.map_tokens);
    std::vector<double> leaves(static_cast<size_t>(d * p.v));
    for (int64_t n = 0; n < count; ++n) {
      const double log_scale = observation_likelihoods(noise, p.v, observations, n, d, leaves);
      const auto exact = testing::enumerate_posterior(
          grammar, [&](int64_t i, uint32_t a) { return std::log(leaves[static_cast<size_t>(i * p.v + a)]); });
      EXPECT_NEAR(result.log_evidence[static_cast<size_t>(n)], exact.log_evidence + log_scale, 1e-12)
          << channel_name(noise.channel) << " observation " << n;
      for (int level = 0; level <= p.L; ++level) {
        const int64_t size = nodes_at_level(p, level) * symbols_at_level(p, level);
        for (int64_t k = 0; k < size; ++k)
          ASSERT_NEAR(result.marginals[static_cast<size_t>(level)][static_cast<size_t>(n * size + k)],
                      exact.marginals[static_cast<size_t>(level)][static_cast<size_t>(k)], 1e-12)
              << channel_name(noise.channel) << " observation " << n << " level " << level << " value " << k;
      }
      for (int k = 0; k < 2; ++k)
        EXPECT_TRUE(parse(grammar, std::span<const uint32_t>(result.posterior_tokens)
                                       .subspan(static_cast<size_t>((n * 2 + k) * d), static_cast<size_t>(d)))
                        .valid);
    }
  }
  EXPECT_EQ(parse_precision("double"), Precision::float64);
  EXPECT_EQ(parse_precision("float"), Precision::float32);
  EXPECT_NE(testing::error_of([] { parse_precision("half"); }).find("unknown precision 'half'"), std::string::npos);
}

TEST(Denoise, PosteriorSamplesAreGrammaticalAndKeepUnmaskedTokens) {
  const Grammar grammar = make_random_grammar({8, 8, 3, 2, 4, 1});
  const auto& p = grammar.params;
  const int64_t d = sequence_length(p);
  DenoiseRequest request;
  request.noise = {Channel::mask, 0.5};
  request.posterior_samples = 4;
  const auto tokens = noisy_tokens(grammar, request.noise, 20);
  const auto result = denoise(grammar, {20, tokens, {}}, request);
  for (int64_t n = 0; n < 20; ++n)
    for (int k = 0; k < 4; ++k) {
      const std::span<const uint32_t> sample(result.posterior_tokens.data() + (n * 4 + k) * d, static_cast<size_t>(d));
      EXPECT_TRUE(parse(grammar, sample).valid);
      for (int64_t i = 0; i < d; ++i) {
        const uint32_t observed = tokens[static_cast<size_t>(n * d + i)];
        if (observed != mask_token(p.v)) EXPECT_EQ(sample[static_cast<size_t>(i)], observed);
      }
    }
}

TEST(Denoise, ImpossibleObservationIsNamed) {
  const Grammar grammar = make_random_grammar({4, 2, 2, 2, 2, 3});
  // Strings of length 4, grammatical or not.
  std::vector<std::vector<uint32_t>> good, bad;
  for (uint32_t code = 0; code < 256; ++code) {
    std::vector<uint32_t> candidate(4);
    for (int i = 0; i < 4; ++i) candidate[static_cast<size_t>(i)] = (code >> (2 * i)) & 3;
    (parse(grammar, candidate).valid ? good : bad).push_back(candidate);
  }
  ASSERT_FALSE(good.empty());
  ASSERT_GE(bad.size(), 2u);
  // Impossible observations at 37 (the third batch's sixth lane) and 39: the
  // error names the first by its index in the whole set, not in its batch.
  const int64_t N = 41, first_bad = 37;
  std::vector<uint32_t> tokens;
  for (int64_t n = 0; n < N; ++n) {
    const auto& string = n == first_bad ? bad[0] : n == 39 ? bad[1] : good[static_cast<size_t>(n) % good.size()];
    tokens.insert(tokens.end(), string.begin(), string.end());
  }
  DenoiseRequest request;
  request.noise = {Channel::mask, 0.0};
  for (int threads : {1, 2}) {
    set_thread_count(threads);
    try {
      denoise(grammar, {N, tokens, {}}, request);
      ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("observation 37:"), std::string::npos) << e.what();
    }
  }
  set_thread_count(0);
}

}  // namespace
}  // namespace hdiff
