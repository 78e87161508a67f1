// The Fréchet distance against cases with a known answer.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>

#include "image/quality/frechet.h"

namespace hdiff::image {
namespace {

at::Tensor matrix(std::initializer_list<double> values, int64_t rows) {
  return at::tensor(std::vector<double>(values), at::kDouble).reshape({rows, -1});
}

FeatureMoments gaussian(std::initializer_list<double> mean, const at::Tensor& covariance) {
  return {at::tensor(std::vector<double>(mean), at::kDouble), covariance};
}

TEST(Frechet, MomentsAreMeanAndUnbiasedCovariance) {
  // Three points (0,0), (2,0), (0,2): mean (2/3, 2/3); deviations (-2/3,-2/3), (4/3,-2/3), (-2/3,4/3).
  const auto m = feature_moments(matrix({0, 0, 2, 0, 0, 2}, 3));
  EXPECT_NEAR(m.mean[0].item<double>(), 2.0 / 3, 1e-15);
  EXPECT_NEAR(m.mean[1].item<double>(), 2.0 / 3, 1e-15);
  // var = (4/9 + 16/9 + 4/9) / 2 = 4/3; cov = (4/9 - 8/9 - 8/9) / 2 = -2/3.
  EXPECT_NEAR(m.covariance[0][0].item<double>(), 4.0 / 3, 1e-14);
  EXPECT_NEAR(m.covariance[1][1].item<double>(), 4.0 / 3, 1e-14);
  EXPECT_NEAR(m.covariance[0][1].item<double>(), -2.0 / 3, 1e-14);
  EXPECT_NEAR(m.covariance[1][0].item<double>(), -2.0 / 3, 1e-14);
}

TEST(Frechet, IdenticalSetsAreAtDistanceZero) {
  const auto features = at::randn({200, 16}, at::TensorOptions().dtype(at::kDouble)).matmul(
      at::randn({16, 16}, at::TensorOptions().dtype(at::kDouble)));
  const auto m = feature_moments(features);
  EXPECT_NEAR(frechet_distance(m, m), 0.0, 1e-9);
  // Shifting every feature by a vector v moves only the mean: FD = |v|^2.
  const auto v = at::arange(16, at::kDouble) * 0.1;
  EXPECT_NEAR(frechet_distance(m, feature_moments(features + v)), v.square().sum().item<double>(), 1e-9);
}

TEST(Frechet, OneDimensionIsMeanAndStandardDeviationGap) {
  // FD of N(1, 4) and N(-2, 9): 3^2 + (2 - 3)^2 = 10.
  EXPECT_NEAR(frechet_distance(gaussian({1}, matrix({4}, 1)), gaussian({-2}, matrix({9}, 1))), 10.0, 1e-12);
}

TEST(Frechet, CommutingCovariancesSumSquaredRootGaps) {
  // The same eigenvectors (a rotation by 30 degrees), eigenvalues (4, 1) and (9, 16):
  // FD = |dmu|^2 + (2 - 3)^2 + (1 - 4)^2 = 2 + 1 + 9.
  const double c = std::cos(M_PI / 6), s = std::sin(M_PI / 6);
  const auto R = matrix({c, -s, s, c}, 2);
  const auto a = R.matmul(at::diag(matrix({4, 1}, 1)[0])).matmul(R.t());
  const auto b = R.matmul(at::diag(matrix({9, 16}, 1)[0])).matmul(R.t());
  EXPECT_NEAR(frechet_distance(gaussian({0, 0}, a), gaussian({1, -1}, b)), 12.0, 1e-12);
}

TEST(Frechet, NonCommutingTwoByTwoMatchesTheClosedForm) {
  // For 2x2 positive definite A, B: tr sqrt(sqrt(A) B sqrt(A)) = sqrt(tr(AB) + 2 sqrt(det A det B)).
  const auto a = matrix({2, 1, 1, 3}, 2), b = matrix({1, -0.5, -0.5, 4}, 2);
  const double tr_ab = a.matmul(b).trace().item<double>();
  const double det_a = 2 * 3 - 1, det_b = 4 - 0.25;
  const double cross = std::sqrt(tr_ab + 2 * std::sqrt(det_a * det_b));
  const double expected = 0.25 + 0 + (2 + 3) + (1 + 4) - 2 * cross;  // means (0.5, 0) and (0, 0)
  EXPECT_NEAR(frechet_distance(gaussian({0.5, 0}, a), gaussian({0, 0}, b)), expected, 1e-12);
}

TEST(Frechet, SingularCovariancesAreExact) {
  // Rank-one covariances along the same axis: only the first variance counts.
  const auto a = matrix({4, 0, 0, 0}, 2), b = matrix({1, 0, 0, 0}, 2);
  EXPECT_NEAR(frechet_distance(gaussian({0, 0}, a), gaussian({0, 0}, b)), 1.0, 1e-12);
  const auto root = symmetric_sqrt(matrix({2, 1, 1, 3}, 2));
  EXPECT_TRUE(at::allclose(root.matmul(root), matrix({2, 1, 1, 3}, 2), 1e-12, 1e-12));
}

TEST(Frechet, SameBytesForAnyThreadCount) {
  // Sizes of the real use (5000 test images, 128 features), where a threaded BLAS splits its work.
  at::manual_seed(5);
  const auto a = at::randn({5000, 128}, at::kDouble), b = at::randn({5000, 128}, at::kDouble) * 1.1 + 0.01;
  const int saved = at::get_num_threads();
  double distances[2];
  for (int threads : {1, 2}) {
    at::set_num_threads(threads);
    distances[threads - 1] = frechet_distance(feature_moments(a), feature_moments(b));
  }
  at::set_num_threads(saved);
  EXPECT_EQ(distances[0], distances[1]);
}

}  // namespace
}  // namespace hdiff::image
