#pragma once
// The Fréchet distance between two Gaussians fitted to feature sets (the "FID"
// recipe with another feature extractor):
//   FD = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr √(√Σ₁ Σ₂ √Σ₁)
// with unbiased (N − 1) covariances. Both square roots are taken by a symmetric
// eigendecomposition in float64 (eigenvalues below zero, rounding noise of a
// positive semi-definite matrix, count as zero), so the result is exact up to
// rounding for any positive semi-definite covariances, singular ones included.
// Everything here runs on one thread: the same features give the same bytes
// for any thread count.

#include <ATen/core/Tensor.h>

namespace hdiff::image {

// Mean (D,) and covariance (D, D) of features (N, D), in float64; N >= 2.
struct FeatureMoments {
  at::Tensor mean, covariance;
};
FeatureMoments feature_moments(const at::Tensor& features);

// The Fréchet distance of two Gaussians (same dimension).
double frechet_distance(const FeatureMoments& a, const FeatureMoments& b);

// The square root of a symmetric positive semi-definite matrix.
at::Tensor symmetric_sqrt(const at::Tensor& matrix);

}  // namespace hdiff::image
