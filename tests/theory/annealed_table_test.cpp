// The annealed production table: symbol 0 owns (0,…,0), all tuples distinct,
// every other tuple uniform among the rest, on each of the three draw paths.

#include "theory/annealed_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "common/error.h"
#include "support/statistics.h"

namespace hdiff {
namespace {

void expect_valid_table(std::span<const uint32_t> children, int n_parents, int v, int m, int s) {
  ASSERT_EQ(children.size(), static_cast<size_t>(n_parents * m * s));
  for (int j = 0; j < s; ++j) EXPECT_EQ(children[static_cast<size_t>(j)], 0u);
  std::set<std::vector<uint32_t>> tuples;
  for (int p = 0; p < n_parents * m; ++p) {
    std::vector<uint32_t> tuple(children.begin() + p * s, children.begin() + (p + 1) * s);
    for (auto b : tuple) EXPECT_LT(b, static_cast<uint32_t>(v));
    EXPECT_TRUE(tuples.insert(tuple).second) << "production " << p << " repeats a tuple";
  }
}

// Which slot owns the tuple (0, 1): production index, or n·m when absent. Every
// slot but 0 is equally likely, with probability 1/(v^s − 1) each.
// With `fused`, the tables are those of draw_and_combine, whose parent message
// must also be the upward rule through that table.
void expect_uniform_slots(int n_parents, int v, int m, int s, bool fused = false) {
  AnnealedTableSampler sampler(n_parents, v, m, s);
  std::vector<double> left(static_cast<size_t>(v)), right(static_cast<size_t>(v)), parent(static_cast<size_t>(n_parents));
  for (int b = 0; b < v; ++b) {
    left[static_cast<size_t>(b)] = 1.0 + b;
    right[static_cast<size_t>(b)] = 1.0 / (1.0 + b * b);
  }
  std::vector<uint32_t> fused_table;
  const int slots = n_parents * m;
  std::vector<int64_t> counts(static_cast<size_t>(slots + 1), 0);
  const int draws = 40000;
  for (int k = 0; k < draws; ++k) {
    RandomStream random(3, RandomDomain::theory, static_cast<uint64_t>(k));
    std::span<const uint32_t> table;
    if (fused) {
      sampler.draw_and_combine(random, left.data(), right.data(), parent);
      fused_table = sampler.last_fused_table();
      table = fused_table;
      std::vector<double> expected(static_cast<size_t>(n_parents), 0.0);
      double total = 0;
      for (int p = 0; p < slots; ++p) {
        const double term = left[table[static_cast<size_t>(2 * p)]] * right[table[static_cast<size_t>(2 * p + 1)]];
        expected[static_cast<size_t>(p / m)] += term;
        total += term;
      }
      for (int a = 0; a < n_parents; ++a)
        ASSERT_NEAR(parent[static_cast<size_t>(a)], expected[static_cast<size_t>(a)] / total, 1e-14);
    } else {
      table = sampler.draw(random);
    }
    expect_valid_table(table, n_parents, v, m, s);
    int owner = slots;
    for (int p = 0; p < slots; ++p) {
      bool match = table[static_cast<size_t>(p * s)] == 0 && table[static_cast<size_t>(p * s + 1)] == 1;
      for (int j = 2; j < s; ++j) match = match && table[static_cast<size_t>(p * s + j)] == 0;
      if (match) owner = p;
    }
    ++counts[static_cast<size_t>(owner)];
  }
  double tuples = 1;
  for (int j = 0; j < s; ++j) tuples *= v;
  std::vector<double> probabilities(static_cast<size_t>(slots + 1), 1.0 / (tuples - 1));
  probabilities[0] = 0;
  probabilities[static_cast<size_t>(slots)] = 1.0 - (slots - 1) / (tuples - 1);
  EXPECT_EQ(counts[0], 0);
  EXPECT_GT(testing::chi_square_p_value(counts, probabilities), 1e-4);
}

TEST(AnnealedTable, FisherYatesPathIsUniform) { expect_uniform_slots(3, 3, 2, 2); }   // 6 of 9 tuples
TEST(AnnealedTable, RejectionPathIsUniform) { expect_uniform_slots(2, 3, 2, 2); }     // 4 of 9 tuples
TEST(AnnealedTable, FullTableIsAPermutation) { expect_uniform_slots(2, 2, 2, 2); }    // 4 of 4 tuples

TEST(AnnealedTable, HugeTupleSpaceUsesDistinctRandomTuples) {
  AnnealedTableSampler sampler(4, 1 << 12, 3, 2);  // 2^24 tuples: neither permutation nor digit table
  for (uint64_t k = 0; k < 20; ++k) {
    RandomStream random(1, RandomDomain::theory, k);
    expect_valid_table(sampler.draw(random), 4, 1 << 12, 3, 2);
  }
}

TEST(AnnealedTable, LargeTupleSpaceWithoutDigitTable) {
  AnnealedTableSampler sampler(8, 2000, 4, 2);  // 4·10^6 tuples: bit set but no digit table
  for (uint64_t k = 0; k < 5; ++k) {
    RandomStream random(2, RandomDomain::theory, k);
    expect_valid_table(sampler.draw(random), 8, 2000, 4, 2);
  }
}

// The fused draw (v a power of two, at most half the tuples): valid tables,
// uniform slots, and the upward rule through the table drawn.
TEST(AnnealedTable, FusedDrawIsUniform) {
  expect_uniform_slots(2, 4, 3, 2, true);  // 6 of 16 tuples
  expect_uniform_slots(4, 8, 4, 2, true);  // 16 of 64 tuples
}

TEST(AnnealedTable, DrawAndCombineEqualsDrawThenCombineWithoutTheFusedPath) {
  // v = 6 is not a power of two: draw_and_combine draws the table as draw() does.
  AnnealedTableSampler fused(6, 6, 3, 2), plain(6, 6, 3, 2);
  std::vector<double> left = {0.1, 0.2, 0.3, 0.15, 0.15, 0.1}, right = {0.3, 0.1, 0.1, 0.2, 0.2, 0.1}, parent(6);
  RandomStream a(3, RandomDomain::theory, 1), b(3, RandomDomain::theory, 1);
  fused.draw_and_combine(a, left.data(), right.data(), parent);
  const auto table = plain.draw(b);
  std::vector<double> expected(6, 0.0);
  for (size_t p = 0; p < 18; ++p) expected[p / 3] += left[table[2 * p]] * right[table[2 * p + 1]];
  double total = 0;
  for (double value : expected) total += value;
  for (size_t symbol = 0; symbol < 6; ++symbol) EXPECT_NEAR(parent[symbol], expected[symbol] / total, 1e-15);
}

TEST(AnnealedTable, TooManyProductionsIsAnError) { EXPECT_THROW(AnnealedTableSampler(5, 2, 1, 2), Error); }

}  // namespace
}  // namespace hdiff
