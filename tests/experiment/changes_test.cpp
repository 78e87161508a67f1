// Change statistics on synthetic patterns whose susceptibility and correlations
// are known exactly, and the ratio and outcome estimators.

#include "experiment/changes.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/random.h"

namespace hdiff {
namespace {

// A full factorial design over the blocks: pattern t changes block b when bit b
// of t is set, and a block is `block` consecutive positions (a subtree when block
// is a power of s). Every block changes in half of the patterns, and any two
// blocks are empirically uncorrelated.
std::vector<uint8_t> factorial_blocks(size_t n, size_t block) {
  const size_t blocks = n / block;
  const size_t patterns = size_t{1} << blocks;
  std::vector<uint8_t> changed(patterns * n);
  for (size_t t = 0; t < patterns; ++t)
    for (size_t i = 0; i < n; ++i) changed[t * n + i] = (t >> (i / block)) & 1;
  return changed;
}

// Expected values for the factorial design at level 3 of a binary tree (n = 8):
// χ = block size; C(k) = p(1−p) = 1/4 with the unbiased factor P/(P−1) for pairs
// inside one block (LCA at a level ≥ 3 − log2 block), 0 for pairs across blocks.
void expect_block_values(const ChangeSummary& summary, size_t block, double patterns) {
  const int level = 3;
  ASSERT_TRUE(summary.susceptibility);
  EXPECT_NEAR(summary.susceptibility->mean, static_cast<double>(block), 1e-12) << "block " << block;
  ASSERT_EQ(summary.by_lca.size(), 3u);
  const int lowest_inside = level - static_cast<int>(std::log2(static_cast<double>(block)));
  for (int k = 0; k < level; ++k) {
    ASSERT_TRUE(summary.by_lca[static_cast<size_t>(k)]);
    const double expected = k >= lowest_inside ? 0.25 * patterns / (patterns - 1) : 0.0;
    EXPECT_NEAR(summary.by_lca[static_cast<size_t>(k)]->mean, expected, 1e-12) << "block " << block << " LCA level " << k;
  }
  EXPECT_DOUBLE_EQ(summary.changed_fraction, 0.5);
}

TEST(Changes, FactorialBlocksOverTrajectoriesGiveTheBlockSize) {
  for (size_t block : {1, 2, 4, 8}) {
    const auto pattern = factorial_blocks(8, block);
    const int patterns = static_cast<int>(pattern.size() / 8);
    // Three clean samples, each with the full design as its trajectories.
    std::vector<uint8_t> changed;
    for (int sample = 0; sample < 3; ++sample) changed.insert(changed.end(), pattern.begin(), pattern.end());
    const ChangeTerms terms = change_terms(changed, 3, patterns, 2, 3);
    ASSERT_EQ(terms.total.size(), 3u);
    const ChangeSummary summary = combine_changes({&terms});
    expect_block_values(summary, block, patterns);
    EXPECT_NEAR(summary.susceptibility->standard_error, 0, 1e-12) << "identical clusters";
  }
}

TEST(Changes, FactorialBlocksOverSamplesGiveTheBlockSize) {
  // One trajectory per sample: the covariance is over the samples of a grammar.
  for (size_t block : {1, 2, 4, 8}) {
    const auto pattern = factorial_blocks(8, block);
    const auto samples = static_cast<int64_t>(pattern.size() / 8);
    const ChangeTerms terms = change_terms(pattern, samples, 1, 2, 3);
    expect_block_values(combine_changes({&terms}), block, static_cast<double>(samples));
    // Two grammars with the same design: the same values, no spread between them.
    const ChangeSummary two = combine_changes({&terms, &terms});
    expect_block_values(two, block, static_cast<double>(samples));
    EXPECT_NEAR(two.susceptibility->standard_error, 0, 1e-12);
  }
}

// The raw and windowed χ of the factorial design in σ units (4·C^δ): with c =
// P/(P−1), C^σ_ij = c inside a block of b consecutive positions and 0 across
// blocks, so (1/n)·Σ_ij C^σ_ij = b·c, and C^σ(r) = c·(n/b)·(b − r)/(n − r) for r < b.
TEST(Changes, RawAndWindowedSusceptibilitiesOfTheFactorialBlocks) {
  const size_t n = 8;
  for (size_t block : {1, 2, 4, 8})
    for (int window : {1, 2, 10}) {
      const auto pattern = factorial_blocks(n, block);
      const auto samples = static_cast<int64_t>(pattern.size() / n);
      const double c = static_cast<double>(samples) / static_cast<double>(samples - 1);
      const ChangeTerms terms = change_terms(pattern, samples, 1, 2, 3, window);
      for (const ChangeSummary& summary : {combine_changes({&terms}), combine_changes({&terms, &terms})}) {
        ASSERT_TRUE(summary.susceptibility_raw && summary.susceptibility_window);
        EXPECT_NEAR(summary.susceptibility_raw->mean, static_cast<double>(block) * c, 1e-12) << "block " << block;
        double expected = 0;
        for (int r = -window; r <= window; ++r) {
          const auto distance = static_cast<size_t>(std::abs(r));
          if (distance >= n || distance >= block) continue;
          expected += c * static_cast<double>(n / block * (block - distance)) / static_cast<double>(n - distance);
        }
        EXPECT_NEAR(summary.susceptibility_window->mean, expected, 1e-12) << "block " << block << " window " << window;
      }
    }
  // Nothing varies: both are 0, defined (the ratio χ is not).
  const std::vector<uint8_t> unchanged(4 * 8, 0);
  const ChangeTerms still = change_terms(unchanged, 4, 1, 2, 3);
  const ChangeSummary summary = combine_changes({&still});
  EXPECT_FALSE(summary.susceptibility);
  ASSERT_TRUE(summary.susceptibility_raw && summary.susceptibility_window);
  EXPECT_EQ(summary.susceptibility_raw->mean, 0);
  EXPECT_EQ(summary.susceptibility_window->mean, 0);
}

TEST(Changes, TernaryBlocksUseTheirOwnPairCounts) {
  // s = 3, level 2 (n = 9), blocks of 3 = the three level-1 subtrees, 8 patterns.
  const auto pattern = factorial_blocks(9, 3);
  const ChangeTerms terms = change_terms(pattern, 8, 1, 3, 2);
  const ChangeSummary summary = combine_changes({&terms});
  ASSERT_TRUE(summary.susceptibility);
  EXPECT_NEAR(summary.susceptibility->mean, 3, 1e-12);
  EXPECT_NEAR(summary.by_lca[0]->mean, 0, 1e-12);
  EXPECT_NEAR(summary.by_lca[1]->mean, 0.25 * 8 / 7, 1e-12);
}

TEST(Changes, IndependentRandomChangesHaveSusceptibilityOne) {
  // Independent changes with probability 0.3: χ = 1 and C(k) = 0 within error.
  const int64_t samples = 400;
  const int trajectories = 20;
  const size_t n = 16;
  std::vector<uint8_t> changed(static_cast<size_t>(samples) * trajectories * n);
  RandomStream random(7, RandomDomain::experiment, 0);
  for (auto& x : changed) x = random.uniform() < 0.3;
  const ChangeTerms terms = change_terms(changed, samples, trajectories, 2, 4);
  const ChangeSummary summary = combine_changes({&terms});
  ASSERT_TRUE(summary.susceptibility);
  EXPECT_NEAR(summary.susceptibility->mean, 1, 4 * summary.susceptibility->standard_error);
  EXPECT_GT(summary.susceptibility->standard_error, 0);
  EXPECT_LT(summary.susceptibility->standard_error, 0.05);
  for (const auto& c : summary.by_lca) EXPECT_NEAR(c->mean, 0, 4 * c->standard_error);
  EXPECT_NEAR(summary.changed_fraction, 0.3, 0.01);
}

TEST(Changes, NothingVaryingLeavesTheSusceptibilityUndefined) {
  // No noise: nothing changes, so χ = 0/0 is reported as undefined, never NaN.
  const std::vector<uint8_t> unchanged(4 * 8, 0);
  const ChangeTerms terms = change_terms(unchanged, 4, 1, 2, 3);
  const ChangeSummary summary = combine_changes({&terms});
  EXPECT_FALSE(summary.susceptibility);
  EXPECT_EQ(summary.changed_fraction, 0);
  // One sample and one trajectory: no covariance at all.
  const ChangeTerms single = change_terms(std::span(unchanged).first(8), 1, 1, 2, 3);
  EXPECT_TRUE(single.total.empty());
  const ChangeSummary none = combine_changes({&single});
  EXPECT_FALSE(none.susceptibility);
  ASSERT_EQ(none.by_lca.size(), 3u);
  EXPECT_FALSE(none.by_lca[0]);
}

TEST(Changes, RatioEstimateAndItsClusterError) {
  const std::vector<double> numerators = {1, 2, 3}, denominators = {2, 2, 2};
  const auto r = ratio_estimate(numerators, denominators);
  ASSERT_TRUE(r);
  EXPECT_DOUBLE_EQ(r->mean, 1.0);
  // Residuals −1, 0, 1: √(3/2 · 2) / 6.
  EXPECT_NEAR(r->standard_error, std::sqrt(3.0) / 6, 1e-15);
  EXPECT_FALSE(ratio_estimate(numerators, std::vector<double>{0, 0, 0}));
  const auto one = ratio_estimate(std::vector<double>{3}, std::vector<double>{4});
  ASSERT_TRUE(one);
  EXPECT_EQ(one->mean, 0.75);
  EXPECT_EQ(one->standard_error, 0);
}

TEST(Changes, OutcomesPoolTrajectoriesAndMixBackToTheMean) {
  // Two grammars, two clean samples each, three trajectories per sample.
  const OutcomeSums kept_a{{3, 1}, {2.4, 0.5}}, changed_a{{0, 2}, {0, 0.6}};
  const OutcomeSums kept_b{{0, 0}, {0, 0}}, changed_b{{3, 3}, {0.3, 0.9}};
  const auto kept = combine_outcome({&kept_a, &kept_b}, 12);
  const auto changed = combine_outcome({&changed_a, &changed_b}, 12);
  EXPECT_DOUBLE_EQ(kept.fraction, 4.0 / 12);
  EXPECT_EQ(kept.trajectories, 4);
  ASSERT_TRUE(kept.agreement);
  EXPECT_DOUBLE_EQ(kept.agreement->mean, 2.9 / 4);
  ASSERT_TRUE(changed.agreement);
  EXPECT_DOUBLE_EQ(changed.agreement->mean, 1.8 / 8);
  EXPECT_NEAR(kept.fraction * kept.agreement->mean + changed.fraction * changed.agreement->mean, (2.9 + 1.8) / 12, 1e-15);
  // An outcome that never happened: fraction 0, agreement undefined.
  const auto never = combine_outcome({&kept_b}, 6);
  EXPECT_EQ(never.fraction, 0);
  EXPECT_FALSE(never.agreement);
}

}  // namespace
}  // namespace hdiff
