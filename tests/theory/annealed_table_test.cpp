// The annealed production table: symbol 0 owns (0,…,0), all tuples distinct,
// every other tuple uniform among the rest, on each of the three draw paths.

#include "theory/annealed_table.h"

#include <gtest/gtest.h>

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
void expect_uniform_slots(int n_parents, int v, int m, int s) {
  AnnealedTableSampler sampler(n_parents, v, m, s);
  const int slots = n_parents * m;
  std::vector<int64_t> counts(static_cast<size_t>(slots + 1), 0);
  const int draws = 40000;
  for (int k = 0; k < draws; ++k) {
    RandomStream random(3, RandomDomain::theory, static_cast<uint64_t>(k));
    const auto table = sampler.draw(random);
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

TEST(AnnealedTable, TooManyProductionsIsAnError) { EXPECT_THROW(AnnealedTableSampler(5, 2, 1, 2), Error); }

}  // namespace
}  // namespace hdiff
