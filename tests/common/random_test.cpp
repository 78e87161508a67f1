// Counter-based random streams: reproducible, independent, correctly distributed.

#include "common/random.h"

#include <gtest/gtest.h>

#include "support/statistics.h"

namespace hdiff {
namespace {

TEST(RandomStream, SameKeySameStreamOtherKeyOtherStream) {
  RandomStream a(1, RandomDomain::sample, 5), b(1, RandomDomain::sample, 5), c(1, RandomDomain::sample, 6),
      d(1, RandomDomain::noise, 5), e(2, RandomDomain::sample, 5), f(1, RandomDomain::sample, 5, 1);
  const uint64_t first = a.next();
  EXPECT_EQ(first, b.next());
  EXPECT_NE(first, c.next());
  EXPECT_NE(first, d.next());
  EXPECT_NE(first, e.next());
  EXPECT_NE(first, f.next());
}

TEST(RandomStream, BelowIsUniform) {
  RandomStream random(3, RandomDomain::sample, 0);
  for (uint64_t n : {2u, 7u, 32u}) {
    std::vector<int64_t> counts(n, 0);
    for (int i = 0; i < 70000; ++i) ++counts[random.below(n)];
    EXPECT_GT(testing::chi_square_p_value(counts, std::vector<double>(n, 1.0 / static_cast<double>(n))), 1e-3) << n;
  }
}

TEST(RandomStream, NormalHasUnitMomentsAndGaussianTails) {
  RandomStream random(4, RandomDomain::noise, 0);
  const int n = 200000;
  double sum = 0, squares = 0;
  int beyond_two = 0;
  for (int i = 0; i < n; ++i) {
    const double x = random.normal();
    sum += x;
    squares += x * x;
    beyond_two += std::fabs(x) > 2;
  }
  EXPECT_NEAR(sum / n, 0, 5 / std::sqrt(n));
  EXPECT_NEAR(squares / n, 1, 5 * std::sqrt(2.0 / n));
  // P(|X| > 2) = 0.0455003
  EXPECT_NEAR(beyond_two / double(n), 0.0455003, 5 * std::sqrt(0.0455 * 0.9545 / n));
}

TEST(RandomStream, UniformCoversTheUnitInterval) {
  RandomStream random(5, RandomDomain::noise, 0);
  std::vector<int64_t> counts(20, 0);
  for (int i = 0; i < 100000; ++i) {
    const double u = random.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    ++counts[static_cast<size_t>(u * 20)];
  }
  EXPECT_GT(testing::chi_square_p_value(counts, std::vector<double>(20, 0.05)), 1e-3);
}

}  // namespace
}  // namespace hdiff
