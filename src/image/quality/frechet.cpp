#include "image/quality/frechet.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "common/error.h"

namespace hdiff::image {
namespace {

// The moments and eigendecompositions run on one thread: a threaded BLAS may
// split sums differently for another thread count, and the distance must be
// the same bytes whatever the machine's threads.
class OneThread {
 public:
  OneThread() : saved_(at::get_num_threads()) { at::set_num_threads(1); }
  ~OneThread() { at::set_num_threads(saved_); }
  OneThread(const OneThread&) = delete;
  OneThread& operator=(const OneThread&) = delete;

 private:
  int saved_;
};

}  // namespace

FeatureMoments feature_moments(const at::Tensor& features) {
  HDIFF_CHECK(features.dim() == 2 && features.size(0) >= 2);
  const OneThread one;
  const auto x = features.to(at::kCPU, at::kDouble);
  FeatureMoments m;
  m.mean = x.mean(0);
  const auto centred = x - m.mean;
  m.covariance = centred.transpose(0, 1).matmul(centred) / static_cast<double>(x.size(0) - 1);
  return m;
}

at::Tensor symmetric_sqrt(const at::Tensor& matrix) {
  HDIFF_CHECK(matrix.dim() == 2 && matrix.size(0) == matrix.size(1));
  const OneThread one;
  const auto symmetric = (matrix + matrix.transpose(0, 1)) * 0.5;
  const auto [values, vectors] = at::linalg_eigh(symmetric);
  return (vectors * values.clamp_min(0.0).sqrt()).matmul(vectors.transpose(0, 1));
}

double frechet_distance(const FeatureMoments& a, const FeatureMoments& b) {
  HDIFF_CHECK(a.mean.sizes() == b.mean.sizes() && a.covariance.sizes() == b.covariance.sizes());
  const OneThread one;
  const auto root_a = symmetric_sqrt(a.covariance);
  const auto inner = root_a.matmul(b.covariance).matmul(root_a);
  const auto [values, vectors] = at::linalg_eigh((inner + inner.transpose(0, 1)) * 0.5);
  const double cross = values.clamp_min(0.0).sqrt().sum().item<double>();
  const double mean_term = (a.mean - b.mean).square().sum().item<double>();
  const double value = mean_term + a.covariance.trace().item<double>() + b.covariance.trace().item<double>() - 2 * cross;
  // Rounding can take a distance of (nearly) identical sets a hair below zero.
  return value < 0 ? 0.0 : value;
}

}  // namespace hdiff::image
