#include "image/models/convnext.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "common/error.h"
#include "image/checkpoint/checkpoint.h"
#include "libtorch/torch_bridge.h"
#include "libtorch/torch_state.h"

namespace hdiff::image {
namespace {

// torchvision uses LayerNorm(eps=1e-6) throughout ConvNeXt.
constexpr double kLayerNormEps = 1e-6;

// What a ConvNeXt state dict must be, for every error that rejects one.
constexpr const char* kConvNeXtStateDict = "a torchvision ConvNeXt state dict (e.g. convnext_base-6075fbad.pth)";

// Size `axis` of a tensor the layout is read from; the full check is load_state's.
int64_t state_dim(const NamedTensors& state, const std::string& name, int64_t axis, const std::string& source) {
  auto it = state.find(name);
  if (it == state.end()) fail("{}: the state dict does not fit {}; 1 missing: {}", source, kConvNeXtStateDict, name);
  if (it->second.dim() <= axis)
    fail("{}: the state dict does not fit {}; 1 mis-shaped: {} (expected at least {} dimensions, found {})", source,
         kConvNeXtStateDict, name, axis + 1, shape_string(it->second.sizes()));
  return it->second.size(axis);
}

// Allocates the network's tensors with the shapes its layout implies and
// registers each under its torchvision name, for load_state to fill.
class Targets {
 public:
  at::Tensor take(const std::string& name, std::vector<int64_t> shape) {
    auto tensor = at::empty(shape, at::kFloat);
    tensors_.emplace(name, tensor);
    return tensor;
  }
  const NamedTensors& tensors() const { return tensors_; }

 private:
  NamedTensors tensors_;
};

at::Tensor layer_norm_2d(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  const auto channels = x.size(1);
  return at::layer_norm(x.permute({0, 2, 3, 1}), {channels}, weight, bias, kLayerNormEps)
      .permute({0, 3, 1, 2});
}

// oneDNN on the CPU. LibTorch's default CPU path for 1x1 and strided kernels at
// small batches is a GEMM in the system BLAS, which for Debian's LibTorch is the
// reference netlib one: about 20 times slower than oneDNN on ConvNeXt's layers.
// LibTorch's switch for oneDNN (torch.backends.mkldnn.enabled) is honoured; the
// tests turn it off to check the other path.
thread_local bool reference_kernels = false;

// While alive, the convolutions of this thread take the reference ATen path.
struct ReferenceKernels {
  bool before = reference_kernels;
  ReferenceKernels() { reference_kernels = true; }
  ~ReferenceKernels() { reference_kernels = before; }
  ReferenceKernels(const ReferenceKernels&) = delete;
  ReferenceKernels& operator=(const ReferenceKernels&) = delete;
};

bool use_onednn(const at::Tensor& x) {
  return !reference_kernels && x.is_cpu() && x.scalar_type() == at::kFloat && at::hasMKLDNN() &&
         at::globalContext().userEnabledMkldnn();
}

at::Tensor conv(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t stride,
                int64_t padding, int64_t groups) {
  if (use_onednn(x))
    return at::mkldnn_convolution(x, weight, bias, {padding, padding}, {stride, stride}, {1, 1}, groups);
  return at::conv2d(x, weight, bias, {stride, stride}, {padding, padding}, {1, 1}, groups);
}

at::Tensor block_forward(const ConvNeXtBlock& block, const at::Tensor& x) {
  const auto channels = x.size(1);
  auto y = conv(x, block.dw_weight, block.dw_bias, 1, 3, channels);
  if (use_onednn(y)) {
    // The pointwise MLP as 1x1 convolutions on channels-last tensors: the same
    // sums as torchvision's Linear layers on the permuted tensor.
    y = layer_norm_2d(y, block.norm_weight, block.norm_bias);
    y = at::gelu(conv(y, block.fc1_weight.view({4 * channels, channels, 1, 1}), block.fc1_bias, 1, 0, 1));
    y = conv(y, block.fc2_weight.view({channels, 4 * channels, 1, 1}), block.fc2_bias, 1, 0, 1);
  } else {
    y = y.permute({0, 2, 3, 1});
    y = at::layer_norm(y, {channels}, block.norm_weight, block.norm_bias, kLayerNormEps);
    y = at::gelu(at::linear(y, block.fc1_weight, block.fc1_bias));
    y = at::linear(y, block.fc2_weight, block.fc2_bias).permute({0, 3, 1, 2});
  }
  return x + block.layer_scale * y;
}

}  // namespace

ConvNeXt ConvNeXt::from_state_dict(const std::map<std::string, at::Tensor>& state,
                                   const std::string& source) {
  Targets targets;
  ConvNeXt net;
  auto& layout = net.layout_;
  // Stage i is features.(2i+1), its downsampling layer features.(2i+2).
  for (int64_t stage = 0;; ++stage) {
    const auto prefix = fmt::format("features.{}", 2 * stage + 1);
    if (!state.count(prefix + ".0.block.0.weight")) break;
    layout.widths.push_back(state_dim(state, prefix + ".0.block.0.weight", 0, source));
    int64_t depth = 0;
    while (state.count(fmt::format("{}.{}.block.0.weight", prefix, depth))) ++depth;
    layout.depths.push_back(depth);
  }
  if (layout.widths.empty())
    fail("{}: the state dict does not fit {}; no ConvNeXt blocks (1 missing: features.1.0.block.0.weight)", source,
         kConvNeXtStateDict);
  layout.num_classes = state_dim(state, "classifier.2.weight", 0, source);

  const auto w0 = layout.widths[0];
  // torchvision's stem takes RGB; a greyscale classifier's takes one channel (a
  // shape load_state checks like every other: 1 or 3 only).
  layout.in_channels = state_dim(state, "features.0.0.weight", 1, source) == 1 ? 1 : 3;
  // The stem cuts the image into patch x patch squares; torchvision's are 4 x 4,
  // a classifier of small images may take smaller ones (load_state checks the square).
  layout.patch = std::clamp<int64_t>(state_dim(state, "features.0.0.weight", 2, source), 1, 16);
  net.stem_weight_ = targets.take("features.0.0.weight", {w0, layout.in_channels, layout.patch, layout.patch});
  net.stem_bias_ = targets.take("features.0.0.bias", {w0});
  net.stem_norm_weight_ = targets.take("features.0.1.weight", {w0});
  net.stem_norm_bias_ = targets.take("features.0.1.bias", {w0});
  net.probe_names_.push_back("features.0");
  net.probe_channels_.push_back(w0);

  const auto num_stages = static_cast<int64_t>(layout.widths.size());
  for (int64_t stage = 0; stage < num_stages; ++stage) {
    const auto c = layout.widths[stage];
    const auto prefix = fmt::format("features.{}", 2 * stage + 1);
    std::vector<ConvNeXtBlock> blocks;
    for (int64_t j = 0; j < layout.depths[stage]; ++j) {
      const auto p = fmt::format("{}.{}.", prefix, j);
      ConvNeXtBlock b;
      b.dw_weight = targets.take(p + "block.0.weight", {c, 1, 7, 7});
      b.dw_bias = targets.take(p + "block.0.bias", {c});
      b.norm_weight = targets.take(p + "block.2.weight", {c});
      b.norm_bias = targets.take(p + "block.2.bias", {c});
      b.fc1_weight = targets.take(p + "block.3.weight", {4 * c, c});
      b.fc1_bias = targets.take(p + "block.3.bias", {4 * c});
      b.fc2_weight = targets.take(p + "block.5.weight", {c, 4 * c});
      b.fc2_bias = targets.take(p + "block.5.bias", {c});
      b.layer_scale = targets.take(p + "layer_scale", {c, 1, 1});
      blocks.push_back(std::move(b));
      net.probe_names_.push_back(fmt::format("{}.{}", prefix, j));
      net.probe_channels_.push_back(c);
    }
    net.stages_.push_back(std::move(blocks));
    if (stage + 1 < num_stages) {
      const auto next = layout.widths[stage + 1];
      const auto p = fmt::format("features.{}.", 2 * stage + 2);
      ConvNeXtDownsample d;
      d.norm_weight = targets.take(p + "0.weight", {c});
      d.norm_bias = targets.take(p + "0.bias", {c});
      d.conv_weight = targets.take(p + "1.weight", {next, c, 2, 2});
      d.conv_bias = targets.take(p + "1.bias", {next});
      net.downsamples_.push_back(std::move(d));
      net.probe_names_.push_back(fmt::format("features.{}", 2 * stage + 2));
      net.probe_channels_.push_back(next);
    }
  }
  const auto last = layout.widths.back();
  net.head_norm_weight_ = targets.take("classifier.0.weight", {last});
  net.head_norm_bias_ = targets.take("classifier.0.bias", {last});
  net.head_weight_ = targets.take("classifier.2.weight", {layout.num_classes, last});
  net.head_bias_ = targets.take("classifier.2.bias", {layout.num_classes});
  net.probe_names_.push_back("classifier");
  net.probe_channels_.push_back(layout.num_classes);
  load_state(targets.tensors(), state, source, kConvNeXtStateDict);
  return net;
}

at::Tensor ConvNeXt::forward(const at::Tensor& images, std::vector<at::Tensor>* probes, bool training) const {
  if (images.dim() != 4 || images.size(1) != layout_.in_channels)
    fail("ConvNeXt input must have shape (N, {}, H, W), got {}", layout_.in_channels, shape_string(images.sizes()));
  c10::InferenceMode guard(!training);
  // oneDNN's convolutions are for inference; training uses the reference kernels.
  std::optional<ReferenceKernels> reference;
  if (training) reference.emplace();
  if (probes) probes->clear();
  auto record = [&](const at::Tensor& t) {
    if (probes) probes->push_back(t);
  };
  auto x = images.to(stem_weight_.device(), at::kFloat).contiguous(at::MemoryFormat::ChannelsLast);
  x = conv(x, stem_weight_, stem_bias_, layout_.patch, 0, 1);
  x = layer_norm_2d(x, stem_norm_weight_, stem_norm_bias_);
  record(x);
  for (size_t stage = 0; stage < stages_.size(); ++stage) {
    for (const auto& block : stages_[stage]) {
      x = block_forward(block, x);
      record(x);
    }
    if (stage < downsamples_.size()) {
      const auto& d = downsamples_[stage];
      x = layer_norm_2d(x, d.norm_weight, d.norm_bias);
      x = conv(x, d.conv_weight, d.conv_bias, 2, 0, 1);
      record(x);
    }
  }
  x = at::adaptive_avg_pool2d(x, {1, 1});
  x = layer_norm_2d(x, head_norm_weight_, head_norm_bias_).flatten(1);
  x = at::linear(x, head_weight_, head_bias_);
  record(x);
  return x;
}

void ConvNeXt::to_device(const std::string& device) {
  const at::Device target(device);
  auto move = [&](at::Tensor& t) { t = t.to(target); };
  for (auto* t : {&stem_weight_, &stem_bias_, &stem_norm_weight_, &stem_norm_bias_,
                  &head_norm_weight_, &head_norm_bias_, &head_weight_, &head_bias_})
    move(*t);
  for (auto& stage : stages_)
    for (auto& b : stage)
      for (auto* t : {&b.dw_weight, &b.dw_bias, &b.norm_weight, &b.norm_bias, &b.fc1_weight,
                      &b.fc1_bias, &b.fc2_weight, &b.fc2_bias, &b.layer_scale})
        move(*t);
  for (auto& d : downsamples_)
    for (auto* t : {&d.norm_weight, &d.norm_bias, &d.conv_weight, &d.conv_bias}) move(*t);
}

void ConvNeXt::set_preprocess(const ClassifierPreprocess& preprocess, const std::string& source) {
  preprocess.validate(source);
  if (preprocess.channels != layout_.in_channels)
    fail("{}: input.channels is {} but the classifier's stem takes {} channel(s)", source, preprocess.channels,
         layout_.in_channels);
  preprocess_ = preprocess;
}

std::vector<std::pair<std::string, at::Tensor*>> ConvNeXt::named_tensors() {
  std::vector<std::pair<std::string, at::Tensor*>> out{{"features.0.0.weight", &stem_weight_},
                                                       {"features.0.0.bias", &stem_bias_},
                                                       {"features.0.1.weight", &stem_norm_weight_},
                                                       {"features.0.1.bias", &stem_norm_bias_}};
  for (size_t stage = 0; stage < stages_.size(); ++stage) {
    for (size_t j = 0; j < stages_[stage].size(); ++j) {
      auto& b = stages_[stage][j];
      const auto p = fmt::format("features.{}.{}.", 2 * stage + 1, j);
      out.insert(out.end(), {{p + "block.0.weight", &b.dw_weight}, {p + "block.0.bias", &b.dw_bias},
                             {p + "block.2.weight", &b.norm_weight}, {p + "block.2.bias", &b.norm_bias},
                             {p + "block.3.weight", &b.fc1_weight}, {p + "block.3.bias", &b.fc1_bias},
                             {p + "block.5.weight", &b.fc2_weight}, {p + "block.5.bias", &b.fc2_bias},
                             {p + "layer_scale", &b.layer_scale}});
    }
    if (stage < downsamples_.size()) {
      auto& d = downsamples_[stage];
      const auto p = fmt::format("features.{}.", 2 * stage + 2);
      out.insert(out.end(), {{p + "0.weight", &d.norm_weight}, {p + "0.bias", &d.norm_bias},
                             {p + "1.weight", &d.conv_weight}, {p + "1.bias", &d.conv_bias}});
    }
  }
  out.insert(out.end(), {{"classifier.0.weight", &head_norm_weight_}, {"classifier.0.bias", &head_norm_bias_},
                         {"classifier.2.weight", &head_weight_}, {"classifier.2.bias", &head_bias_}});
  return out;
}

std::map<std::string, at::Tensor> convnext_initial_state(const ConvNeXtLayout& layout, uint64_t seed) {
  HDIFF_CHECK(!layout.widths.empty() && layout.widths.size() == layout.depths.size());
  at::manual_seed(seed);
  std::map<std::string, at::Tensor> state;
  // torchvision: trunc_normal_(std=0.02) on every Conv2d and Linear weight (cut at ±2, i.e. ±100 std: a plain normal).
  const auto weight = [&](const std::string& name, std::vector<int64_t> shape) {
    state[name] = at::randn(shape, at::kFloat) * 0.02;
  };
  const auto fill = [&](const std::string& name, int64_t n, float value) { state[name] = at::full({n}, value); };
  const auto w0 = layout.widths[0];
  weight("features.0.0.weight", {w0, layout.in_channels, layout.patch, layout.patch});
  fill("features.0.0.bias", w0, 0);
  fill("features.0.1.weight", w0, 1);
  fill("features.0.1.bias", w0, 0);
  for (size_t stage = 0; stage < layout.widths.size(); ++stage) {
    const auto c = layout.widths[stage];
    for (int64_t j = 0; j < layout.depths[stage]; ++j) {
      const auto p = fmt::format("features.{}.{}.", 2 * stage + 1, j);
      weight(p + "block.0.weight", {c, 1, 7, 7});
      fill(p + "block.0.bias", c, 0);
      fill(p + "block.2.weight", c, 1);
      fill(p + "block.2.bias", c, 0);
      weight(p + "block.3.weight", {4 * c, c});
      fill(p + "block.3.bias", 4 * c, 0);
      weight(p + "block.5.weight", {c, 4 * c});
      fill(p + "block.5.bias", c, 0);
      state[p + "layer_scale"] = at::full({c, 1, 1}, 1e-6f);
    }
    if (stage + 1 < layout.widths.size()) {
      const auto p = fmt::format("features.{}.", 2 * stage + 2);
      fill(p + "0.weight", c, 1);
      fill(p + "0.bias", c, 0);
      weight(p + "1.weight", {layout.widths[stage + 1], c, 2, 2});
      fill(p + "1.bias", layout.widths[stage + 1], 0);
    }
  }
  const auto last = layout.widths.back();
  fill("classifier.0.weight", last, 1);
  fill("classifier.0.bias", last, 0);
  weight("classifier.2.weight", {layout.num_classes, last});
  fill("classifier.2.bias", layout.num_classes, 0);
  return state;
}

ConvNeXt load_convnext(const std::filesystem::path& path, const std::filesystem::path& config) {
  std::map<std::string, at::Tensor> state;
  for (auto& [name, tensor] : ckpt::read_tensors(path)) state.emplace(name, to_torch(tensor));
  auto net = ConvNeXt::from_state_dict(state, path.string());
  if (!config.empty())
    net.set_preprocess(read_classifier_config(config), config.string());
  else if (net.layout().in_channels != 3)
    fail("{}: a greyscale classifier needs its config (the JSON beside it, e.g. classifier.json) to say how its "
         "images are prepared", path.string());
  return net;
}

std::string ConvNeXt::device() const { return stem_weight_.device().str(); }

}  // namespace hdiff::image
