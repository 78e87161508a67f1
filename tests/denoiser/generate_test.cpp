// Generation from pure noise: with exact BP as the denoiser the masked chain
// samples the grammar exactly (every string valid, classes uniform), the
// uniform ancestral chain comes close; results do not depend on threads.

#include <gtest/gtest.h>

#include <vector>

#include "common/parallel.h"
#include "denoiser/measure.h"
#include "grammar/sampling.h"
#include "support/helpers.h"
#include "support/statistics.h"

namespace hdiff {
namespace {

using testing::error_of;

const GrammarParams kParams{8, 4, 3, 2, 3, 5};  // d = 8

TEST(Generate, ExactBpUnmaskingSamplesTheGrammar) {
  const Grammar grammar = make_random_grammar(kParams);
  const int64_t count = 2000;
  const auto strings = generate(kParams, bp_token_denoiser(grammar), Channel::mask, count, 100, 9);
  ASSERT_EQ(strings.size(), static_cast<size_t>(count * 8));
  const SampleQuality quality = sample_quality(grammar, strings, {});
  ASSERT_EQ(quality.validity.size(), 3u);
  for (double validity : quality.validity) EXPECT_EQ(validity, 1.0);
  EXPECT_EQ(quality.valid, 1.0);
  EXPECT_EQ(quality.valid_new, 1.0);
  // The class of every string is uniform over the 4 classes.
  std::vector<int64_t> classes(4, 0);
  for (int64_t n = 0; n < count; ++n) {
    const ParseResult parsed = parse(grammar, {strings.data() + n * 8, 8});
    ASSERT_TRUE(parsed.valid);
    ++classes[parsed.tree[0]];
  }
  EXPECT_GT(testing::chi_square_p_value(classes, std::vector<double>(4, 0.25)), 1e-3);
  // Every string equally likely too: 4 classes × 3^7 derivations, so the
  // productions used at the first level below the root are uniform per class.
  std::vector<int64_t> first_rule(12, 0);
  for (int64_t n = 0; n < count; ++n) {
    const ParseResult parsed = parse(grammar, {strings.data() + n * 8, 8});
    const uint32_t children[2] = {parsed.tree[1], parsed.tree[2]};
    ++first_rule[static_cast<size_t>(grammar.levels[0].find(children))];
  }
  EXPECT_GT(testing::chi_square_p_value(first_rule, std::vector<double>(12, 1.0 / 12)), 1e-3);
}

TEST(Generate, ExactBpAncestralChainIsCloseToTheGrammar) {
  // The factorised reverse step is exact only as T → ∞ (docs/networks.md):
  // at T = 100 nearly every string is valid, not every one.
  const Grammar grammar = make_random_grammar(kParams);
  const auto strings = generate(kParams, bp_token_denoiser(grammar), Channel::uniform, 1000, 100, 9);
  const SampleQuality quality = sample_quality(grammar, strings, {});
  for (double validity : quality.validity) EXPECT_GT(validity, 0.9);
  EXPECT_GT(quality.valid, 0.9);
}

TEST(Generate, ResultsDoNotDependOnThreads) {
  const Grammar grammar = make_random_grammar(kParams);
  for (Channel channel : {Channel::mask, Channel::uniform}) {
    set_thread_count(1);
    const auto one = generate(kParams, bp_token_denoiser(grammar), channel, 300, 30, 4);
    set_thread_count(2);
    const auto two = generate(kParams, bp_token_denoiser(grammar), channel, 300, 30, 4);
    EXPECT_EQ(one, two) << channel_name(channel);
  }
}

TEST(Generate, QualityCountsCopiesAndInvalidNodes) {
  const Grammar grammar = make_random_grammar(kParams);
  const SampleBatch batch = sample_batch(grammar, 1, 0, 2);
  const int64_t leaves = level_offset(kParams, 3);
  std::vector<uint32_t> training(batch.tree(0).begin() + leaves, batch.tree(0).end());
  std::vector<uint32_t> generated = training;                                   // a copy
  generated.insert(generated.end(), batch.tree(1).begin() + leaves, batch.tree(1).end());  // valid and new
  std::vector<uint32_t> broken = training;
  // Find a token for position 0 that breaks the first pair.
  for (uint32_t a = 0; a < 8; ++a) {
    broken[0] = a;
    if (!parse_tokens(grammar, broken).valid[2][0]) break;
  }
  ASSERT_FALSE(parse_tokens(grammar, broken).valid[2][0]);
  generated.insert(generated.end(), broken.begin(), broken.end());
  const SampleQuality quality = sample_quality(grammar, generated, training);
  EXPECT_DOUBLE_EQ(quality.copied, 1.0 / 3);
  EXPECT_DOUBLE_EQ(quality.valid, 2.0 / 3);
  EXPECT_DOUBLE_EQ(quality.valid_new, (training == std::vector<uint32_t>(batch.tree(1).begin() + leaves, batch.tree(1).end()) ? 0.0 : 1.0 / 3));
  // Level 2 (4 nodes per string): one invalid node; levels 1 and 0: one each.
  EXPECT_DOUBLE_EQ(quality.validity[2], 11.0 / 12);
  EXPECT_DOUBLE_EQ(quality.validity[1], 5.0 / 6);
  EXPECT_DOUBLE_EQ(quality.validity[0], 2.0 / 3);
}

TEST(Generate, BadRequestsAreRefused) {
  const Grammar grammar = make_random_grammar(kParams);
  const auto bp = bp_token_denoiser(grammar);
  EXPECT_NE(error_of([&] { generate(kParams, bp, Channel::soft, 10, 100, 0); }).find("choose mask or uniform"), std::string::npos);
  EXPECT_NE(error_of([&] { generate(kParams, bp, Channel::mask, 0, 100, 0); }).find("must lie in [1,"), std::string::npos);
  EXPECT_NE(error_of([&] { generate(kParams, bp, Channel::uniform, 10, 5, 0); }).find("uniform steps 5"), std::string::npos);
  EXPECT_NE(error_of([&] { sample_quality(grammar, std::vector<uint32_t>(7), {}); }).find("multiple of d = 8"), std::string::npos);
}

}  // namespace
}  // namespace hdiff
