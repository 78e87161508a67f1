#pragma once
// Spatial susceptibility of the image experiment: where in the picture did
// forward–backward change things, and do the changes come in correlated blocks?
//
// Definitions (docs/images.md, "Spatial susceptibility"):
// - The image (H×W, c channels, pixels scaled to [0, 1]) is cut into square
//   patches of `patch`×`patch` pixels on a grid of ⌊H/patch⌋ rows and
//   ⌊W/patch⌋ columns (pixels beyond the last whole patch are left out).
// - The change of patch p of image i is the root-mean-square pixel difference
//   m_ip = √(mean over the patch's pixels and channels of (x̂₀ − x₀)²).
// - Over the n images of one k, with Cov the unbiased (n − 1) covariance:
//     C_pq = Cov_i(m_ip, m_iq)   (connected: each patch's own mean is removed)
//     χ      = Σ_pq C_pq / Σ_p C_pp = Var_i(Σ_p m_ip) / Σ_p Var_i(m_ip)
//     χ_raw  = Σ_pq C_pq / P
//   χ is 1 for independent patches and b for changes in fully correlated blocks
//   of b patches (the normalised χ of docs/phase.md); χ_raw keeps the size of
//   the changes.
// - C(r), r = 0, 1, 2, …: the mean of C_pq over the ordered pairs (p, q) whose
//   centre distance |p − q| (in patch units) rounds to r (r = 0: p = q, the
//   variances); correlation(r) = C(r) / C(0).
// - Standard errors are delete-one jackknife estimates over images (clustered
//   by image): se = √((n − 1)/n · Σ_i (θ_(i) − θ̄)²).
// Undefined values (fewer than 2 images, no variance, or fewer than 3 images
// for a standard error) are empty optionals.

#include <cstdint>
#include <optional>
#include <vector>

#include "image/io/image_io.h"

namespace hdiff::image {

// The changes of one k: m[i][p], patches in row-major grid order.
struct PatchChanges {
  int rows = 0, cols = 0;                 // patch grid
  std::vector<std::vector<double>> m;     // per image, per patch
};

// m_p of one image pair (same size, at least one whole patch); `patch` >= 1.
std::vector<double> patch_change(const Image& start, const Image& generated, int patch);

// χ, χ_raw and the mean change of one k.
struct SusceptibilityRow {
  size_t n = 0;                       // images
  double mean_change = 0;             // mean of m over images and patches
  std::optional<double> chi, chi_se;
  std::optional<double> chi_raw, chi_raw_se;
};

// One distance of C(r).
struct CorrelationRow {
  int r = 0;
  size_t pairs = 0;                   // ordered patch pairs at this distance
  std::optional<double> covariance;   // C(r)
  std::optional<double> correlation;  // C(r) / C(0)
};

SusceptibilityRow susceptibility(const PatchChanges& changes);
std::vector<CorrelationRow> patch_correlations(const PatchChanges& changes);

}  // namespace hdiff::image
