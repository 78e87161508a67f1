#include "image/probe/probe.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/progress.h"
#include "image/io/image_io.h"
#include "image/models/classifier_input.h"
#include "libtorch/torch_bridge.h"

namespace hdiff::image {
namespace {

// Images [begin, end) read from disk and preprocessed, one at a time because
// reference images may differ in size.
at::Tensor load_batch(const ConvNeXt& net, const std::vector<std::filesystem::path>& paths, size_t begin,
                      size_t end) {
  std::vector<at::Tensor> inputs;
  for (size_t i = begin; i < end; ++i)
    inputs.push_back(classifier_input(image_tensor(read_image(paths[i])), net.preprocess()));
  return at::cat(inputs, 0);
}

// Activations as (N, C, elements per channel) in float64.
at::Tensor per_channel(const at::Tensor& x) {
  return x.reshape({x.size(0), x.size(1), -1}).to(at::kDouble);
}

// Running per-channel mean and sum of squared deviations (Chan et al.'s
// pairwise update), so that large reference sets do not lose precision.
struct RunningMoments {
  double count = 0;
  at::Tensor mean, m2;  // (C,) float64

  void add(const at::Tensor& activations) {
    auto x = per_channel(activations).transpose(0, 1).reshape({activations.size(1), -1});
    const auto n = static_cast<double>(x.size(1));
    auto batch_mean = x.mean(1);
    auto batch_m2 = (x - batch_mean.unsqueeze(1)).square().sum(1);
    if (count == 0) {
      mean = batch_mean;
      m2 = batch_m2;
    } else {
      auto delta = batch_mean - mean;
      const double total = count + n;
      mean = mean + delta * (n / total);
      m2 = m2 + batch_m2 + delta.square() * (count * n / total);
    }
    count += n;
  }
};

std::vector<double> to_vector(const at::Tensor& t) {
  auto c = t.to(at::kCPU, at::kDouble).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

std::vector<int64_t> top1(const at::Tensor& logits) {
  auto c = logits.argmax(1).to(at::kCPU, at::kLong).contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

}  // namespace

ProbeStats measure_stats(const ConvNeXt& net, const std::vector<std::filesystem::path>& images,
                         int64_t batch_size, const ProbeProgress& progress) {
  if (images.empty()) fail("no reference images to measure statistics on");
  HDIFF_CHECK(batch_size > 0);
  c10::InferenceMode guard;
  std::vector<RunningMoments> moments(net.probe_names().size());
  std::vector<at::Tensor> probes;
  for (size_t begin = 0; begin < images.size(); begin += static_cast<size_t>(batch_size)) {
    if (interrupted()) fail("interrupted; no statistics were written");
    const auto end = std::min(images.size(), begin + static_cast<size_t>(batch_size));
    net.forward(load_batch(net, images, begin, end), &probes);
    for (size_t p = 0; p < probes.size(); ++p) moments[p].add(probes[p]);
    if (progress) progress(static_cast<int64_t>(end - begin));
  }
  ProbeStats stats;
  stats.num_images = images.size();
  for (size_t p = 0; p < moments.size(); ++p) {
    ChannelStats point;
    point.name = net.probe_names()[p];
    point.mean = to_vector(moments[p].mean);
    point.var = to_vector(moments[p].m2 / moments[p].count);
    stats.points.push_back(std::move(point));
  }
  return stats;
}

WhitenedDistances whitened_distances(const at::Tensor& a, const at::Tensor& b, const ChannelStats& stats) {
  HDIFF_CHECK(a.sizes() == b.sizes() && a.dim() >= 2);
  HDIFF_CHECK(a.size(1) == static_cast<int64_t>(stats.mean.size()));
  c10::InferenceMode guard;
  const auto options = at::TensorOptions().dtype(at::kDouble).device(a.device());
  auto mean = at::tensor(stats.mean, at::kDouble).to(options.device()).view({1, -1, 1});
  auto var = at::tensor(stats.var, at::kDouble).to(options.device()).view({1, -1, 1});
  // A channel that never varied on the reference set has no scale to whiten by;
  // it carries no information about the image, so it is left out.
  auto informative = var > 1e-12 * at::clamp_min(mean.square(), 1.0);
  auto inv_std = at::where(informative, var.rsqrt(), at::zeros_like(var));
  auto wa = (per_channel(a) - mean) * inv_std;
  auto wb = (per_channel(b) - mean) * inv_std;
  const double elements =
      informative.to(at::kDouble).sum().item<double>() * static_cast<double>(wa.size(2));
  const auto dots = to_vector((wa * wb).sum({1, 2}));
  const auto norm_a2 = to_vector(wa.square().sum({1, 2}));
  const auto norm_b2 = to_vector(wb.square().sum({1, 2}));
  const auto diff2 = to_vector((wa - wb).square().sum({1, 2}));
  WhitenedDistances out;
  for (size_t i = 0; i < dots.size(); ++i) {
    const double norms = std::sqrt(norm_a2[i]) * std::sqrt(norm_b2[i]);
    out.cosine.push_back(norms > 0 ? std::clamp(dots[i] / norms, -1.0, 1.0) : 1.0);
    out.l2.push_back(elements > 0 ? std::sqrt(diff2[i] / elements) : 0.0);
    const double total = norm_a2[i] + norm_b2[i];
    out.l2_normalised.push_back(total > 0 ? std::sqrt(diff2[i] / total) : 0.0);
  }
  return out;
}

std::vector<double> whitened_cosine(const at::Tensor& a, const at::Tensor& b,
                                    const ChannelStats& stats) {
  return whitened_distances(a, b, stats).cosine;
}

std::vector<std::vector<PairProbe>> probe_pairs(
    const ConvNeXt& net, const ProbeStats& stats, const std::vector<std::filesystem::path>& start,
    const std::vector<std::vector<std::filesystem::path>>& generated, int64_t batch_size,
    const ProbeProgress& progress) {
  HDIFF_CHECK(batch_size > 0);
  check_stats_match(stats, net.probe_names(), net.probe_channels(), "the statistics");
  for (const auto& set : generated) HDIFF_CHECK(set.size() == start.size());
  c10::InferenceMode guard;
  std::vector<std::vector<PairProbe>> result(generated.size(), std::vector<PairProbe>(start.size()));
  std::vector<at::Tensor> start_probes, gen_probes;
  for (size_t begin = 0; begin < start.size(); begin += static_cast<size_t>(batch_size)) {
    const auto end = std::min(start.size(), begin + static_cast<size_t>(batch_size));
    const auto start_top1 = top1(net.forward(load_batch(net, start, begin, end), &start_probes));
    for (size_t s = 0; s < generated.size(); ++s) {
      if (interrupted()) fail("interrupted; no probe results were written");
      const auto gen_top1 = top1(net.forward(load_batch(net, generated[s], begin, end), &gen_probes));
      for (size_t i = begin; i < end; ++i) {
        auto& pair = result[s][i];
        pair.start_class = start_top1[i - begin];
        pair.generated_class = gen_top1[i - begin];
        pair.similarity.resize(start_probes.size());
        pair.l2.resize(start_probes.size());
        pair.l2_normalised.resize(start_probes.size());
      }
      for (size_t p = 0; p < start_probes.size(); ++p) {
        const auto d = whitened_distances(start_probes[p], gen_probes[p], stats.points[p]);
        for (size_t i = begin; i < end; ++i) {
          result[s][i].similarity[p] = d.cosine[i - begin];
          result[s][i].l2[p] = d.l2[i - begin];
          result[s][i].l2_normalised[p] = d.l2_normalised[i - begin];
        }
      }
      if (progress) progress(static_cast<int64_t>(end - begin));
    }
  }
  return result;
}

}  // namespace hdiff::image
