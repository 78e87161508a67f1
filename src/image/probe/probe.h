#pragma once
// The classifier probe: per-channel statistics of a reference set, and for
// pairs of images (a start image and what forward-backward made of it) the top-1
// class of each and the cosine similarity of their whitened activations at every
// probe point.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "image/models/convnext.h"
#include "image/probe/probe_stats.h"
#include "image/probe/probe_table.h"

namespace hdiff::image {

// Called after each batch with the number of images it held.
using ProbeProgress = std::function<void(int64_t images_done)>;

// Images per classifier call unless told otherwise.
inline constexpr int64_t kProbeBatch = 16;

// Per-channel mean and variance of every probe point over the images (files),
// each preprocessed as the classifier expects. Unreadable images are errors
// naming the file. Statistics accumulate in float64.
ProbeStats measure_stats(const ConvNeXt& net, const std::vector<std::filesystem::path>& images,
                         int64_t batch_size, const ProbeProgress& progress = {});

// Whitened cosine similarity of activations a and b (same shape, (N, C, ...)):
// each channel c is mapped to (x - mean_c) / sqrt(var_c), channels with zero
// variance on the reference set are dropped, and the cosine is taken over all
// remaining elements of each image. Returns one value per image.
std::vector<double> whitened_cosine(const at::Tensor& a, const at::Tensor& b,
                                    const ChannelStats& stats);

// The three distances of whitened activations w_a, w_b (whitened and with the
// same channels dropped as whitened_cosine), per image, over the D remaining
// elements:
//   cosine         w_a·w_b / (‖w_a‖ ‖w_b‖)      (1 when both are zero; = whitened_cosine)
//   l2             ‖w_a − w_b‖ / √D             (root-mean-square difference per element; 0 when D = 0)
//   l2_normalised  ‖w_a − w_b‖ / √(‖w_a‖² + ‖w_b‖²)   (0 equal, 1 orthogonal, √2 opposite; 0 when both are zero)
struct WhitenedDistances {
  std::vector<double> cosine, l2, l2_normalised;
};
WhitenedDistances whitened_distances(const at::Tensor& a, const at::Tensor& b, const ChannelStats& stats);

// Probes start[i] against generated[s][i] for every set s (one per k): the start
// images go through the network once per batch, every generated set reuses them.
// Returns result[s][i].
std::vector<std::vector<PairProbe>> probe_pairs(
    const ConvNeXt& net, const ProbeStats& stats, const std::vector<std::filesystem::path>& start,
    const std::vector<std::vector<std::filesystem::path>>& generated, int64_t batch_size,
    const ProbeProgress& progress = {});

}  // namespace hdiff::image
