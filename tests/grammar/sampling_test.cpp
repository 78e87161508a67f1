// Sampling and parsing: a sample parses to its latents; sampling is a pure
// function of (seed, index) and follows the generative law.

#include "grammar/sampling.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/parallel.h"
#include "support/statistics.h"

namespace hdiff {
namespace {

TEST(Sampling, ParseRecoversEveryLatent) {
  const Grammar grammar = make_random_grammar({10, 5, 3, 2, 5, 2});
  const auto& p = grammar.params;
  const auto batch = sample_batch(grammar, 1, 0, 50);
  for (int64_t n = 0; n < batch.count; ++n) {
    const auto tree = batch.tree(n);
    const auto result = parse(grammar, tree.subspan(static_cast<size_t>(level_offset(p, p.L))));
    ASSERT_TRUE(result.valid) << result.describe();
    EXPECT_TRUE(std::equal(tree.begin(), tree.end(), result.tree.begin()));
  }
}

TEST(Sampling, ParseReportsTheFirstInvalidBlock) {
  const Grammar grammar = make_random_grammar({10, 5, 3, 2, 3, 2});
  const auto& p = grammar.params;
  const auto batch = sample_batch(grammar, 1, 0, 1);
  std::vector<uint32_t> tokens(batch.tree(0).begin() + level_offset(p, p.L), batch.tree(0).end());
  // Replace block 2 of the tokens by a tuple that is no production.
  for (uint32_t a = 0; a < 10; ++a) {
    tokens[4] = a;
    tokens[5] = a;
    if (grammar.levels[2].find(std::span<const uint32_t>(tokens.data() + 4, 2)) < 0) break;
  }
  const auto result = parse(grammar, tokens);
  EXPECT_FALSE(result.valid);
  EXPECT_EQ(result.level, 2);
  EXPECT_EQ(result.position, 2);
  EXPECT_EQ(result.describe(), "block 2 at level 2 is not a production");
  EXPECT_THROW(parse(grammar, std::vector<uint32_t>(7, 0)), Error);
}

TEST(Sampling, IndependentOfBatchSplitAndThreadCount) {
  const Grammar grammar = make_random_grammar({12, 6, 4, 2, 6, 2});
  set_thread_count(1);
  const auto whole = sample_batch(grammar, 5, 0, 64);
  set_thread_count(2);
  const auto first = sample_batch(grammar, 5, 0, 20);
  const auto rest = sample_batch(grammar, 5, 20, 44);
  set_thread_count(0);
  std::vector<uint32_t> joined = first.trees;
  joined.insert(joined.end(), rest.trees.begin(), rest.trees.end());
  EXPECT_EQ(whole.trees, joined);
  EXPECT_NE(whole.trees, sample_batch(grammar, 6, 0, 64).trees);
}

TEST(Sampling, ClassesAndProductionsAreUniform) {
  const Grammar grammar = make_random_grammar({6, 4, 3, 2, 2, 8});
  const auto& p = grammar.params;
  const int count = 24000;
  const auto batch = sample_batch(grammar, 2, 0, count);
  std::vector<int64_t> classes(4, 0);
  // Production chosen by the root: level-1 pair (positions 1, 2) parsed back.
  std::vector<int64_t> root_rules(12, 0);
  for (int64_t n = 0; n < count; ++n) {
    const auto tree = batch.tree(n);
    ++classes[tree[0]];
    ++root_rules[static_cast<size_t>(grammar.levels[0].find(tree.subspan(1, 2)))];
  }
  EXPECT_GT(testing::chi_square_p_value(classes, std::vector<double>(4, 0.25)), 1e-3);
  EXPECT_GT(testing::chi_square_p_value(root_rules, std::vector<double>(12, 1.0 / 12)), 1e-3);
  (void)p;
}

}  // namespace
}  // namespace hdiff
