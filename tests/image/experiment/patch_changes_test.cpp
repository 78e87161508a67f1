// The spatial susceptibility of patch changes against hand computations.

#include <gtest/gtest.h>

#include <cmath>

#include "image/experiment/patch_changes.h"

namespace hdiff::image {
namespace {

Image grey(int width, int height, std::vector<uint8_t> values) {
  Image im{width, height, {}};
  for (auto v : values) im.rgb.insert(im.rgb.end(), 3, v);
  return im;
}

TEST(PatchChanges, PatchChangeIsRootMeanSquareOverThePatch) {
  // 4x2 image, 2x2 patches: the left patch changes by 51/255 = 0.2 in one pixel of four,
  // the right one by 255 in every pixel; the fifth column would be cut off.
  const auto start = grey(5, 2, {0, 0, 0, 0, 9, 0, 0, 0, 0, 9});
  const auto generated = grey(5, 2, {51, 0, 255, 255, 0, 0, 0, 255, 255, 0});
  const auto m = patch_change(start, generated, 2);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_NEAR(m[0], std::sqrt(0.04 / 4), 1e-15);
  EXPECT_NEAR(m[1], 1.0, 1e-15);
}

TEST(PatchChanges, SusceptibilityAndJackknifeByHand) {
  // Three images, a 1x2 patch grid. Column variances 1 and 1, row sums 1, 1, 4 (variance 3):
  // chi = 3 / 2, chi_raw = 3 / 2. Leaving out image 0 or 1 gives chi = 4.5 / 2.5 = 1.8,
  // leaving out image 2 gives 0 / 1 = 0: mean 1.2, se = sqrt(2/3 * 2.16) = 1.2.
  const PatchChanges c{1, 2, {{1, 0}, {0, 1}, {2, 2}}};
  const auto row = susceptibility(c);
  EXPECT_EQ(row.n, 3u);
  EXPECT_NEAR(row.mean_change, 1.0, 1e-15);
  ASSERT_TRUE(row.chi && row.chi_se && row.chi_raw && row.chi_raw_se);
  EXPECT_NEAR(*row.chi, 1.5, 1e-14);
  EXPECT_NEAR(*row.chi_se, 1.2, 1e-14);
  EXPECT_NEAR(*row.chi_raw, 1.5, 1e-14);
  // chi_raw leave-one-out: 4.5/2, 4.5/2, 0/2 -> mean 1.5, se = sqrt(2/3 * (0.5625 * 2 + 2.25)) = 1.5.
  EXPECT_NEAR(*row.chi_raw_se, 1.5, 1e-14);

  const auto corr = patch_correlations(c);
  ASSERT_EQ(corr.size(), 2u);
  EXPECT_EQ(corr[0].pairs, 2u);  // (0,0), (1,1)
  EXPECT_EQ(corr[1].pairs, 2u);  // (0,1), (1,0)
  EXPECT_NEAR(*corr[0].covariance, 1.0, 1e-14);
  EXPECT_NEAR(*corr[1].covariance, 0.5, 1e-14);
  EXPECT_NEAR(*corr[1].correlation, 0.5, 1e-14);
  // Bookkeeping: sum_r C(r) * pairs = Var(row sums), and chi = that / sum of variances.
  EXPECT_NEAR(*corr[0].covariance * 2 + *corr[1].covariance * 2, 3.0, 1e-14);
}

TEST(PatchChanges, FullyCorrelatedBlocksGiveTheBlockSize) {
  // Patches 0,1 always change together, and so do 2,3; the two blocks are uncorrelated
  // (centred columns (1,-1,1,-1) and (1,1,-1,-1)): chi = 2 exactly.
  const PatchChanges c{2, 2, {{2, 2, 2, 2}, {0, 0, 2, 2}, {2, 2, 0, 0}, {0, 0, 0, 0}}};
  EXPECT_NEAR(*susceptibility(c).chi, 2.0, 1e-14);
  // Independent-looking patches (every pair uncorrelated): chi = 1.
  const PatchChanges independent{1, 2, {{1, 1}, {1, -1}, {-1, 1}, {-1, -1}}};
  EXPECT_NEAR(*susceptibility(independent).chi, 1.0, 1e-14);
  // Distances on the 2x2 grid: r = 0 (4 pairs), 1 (8 pairs), sqrt 2 -> 1 (4 more).
  const auto corr = patch_correlations(c);
  ASSERT_EQ(corr.size(), 2u);
  EXPECT_EQ(corr[0].pairs, 4u);
  EXPECT_EQ(corr[1].pairs, 12u);
}

TEST(PatchChanges, UndefinedValuesAreEmpty) {
  const PatchChanges one{1, 2, {{1, 0}}};
  const auto row = susceptibility(one);
  EXPECT_FALSE(row.chi);
  EXPECT_FALSE(row.chi_raw);
  EXPECT_FALSE(patch_correlations(one)[0].covariance);
  // No variance at all (nothing changed anywhere): chi is undefined, chi_raw is 0.
  const PatchChanges still{1, 2, {{0, 0}, {0, 0}, {0, 0}}};
  const auto flat = susceptibility(still);
  EXPECT_FALSE(flat.chi);
  ASSERT_TRUE(flat.chi_raw);
  EXPECT_EQ(*flat.chi_raw, 0.0);
  EXPECT_FALSE(patch_correlations(still)[1].correlation);
  // Two images: chi is defined, its jackknife error is not.
  const PatchChanges two{1, 2, {{1, 0}, {0, 2}}};
  EXPECT_TRUE(susceptibility(two).chi);
  EXPECT_FALSE(susceptibility(two).chi_se);
}

}  // namespace
}  // namespace hdiff::image
