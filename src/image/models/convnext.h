#pragma once
// torchvision's ConvNeXt image classifier, rebuilt on ATen from a state dict
// with torchvision's parameter names, so that the published ImageNet weights
// (e.g. convnext_base-6075fbad.pth) load unchanged. Its probe points are the
// modules whose outputs the image experiment compares: the stem, every block,
// every downsampling layer and the head, named as torchvision names them.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "image/models/classifier_input.h"

namespace hdiff::image {

// The shape of a ConvNeXt, read from its state dict (Base: widths 128, 256,
// 512, 1024; depths 3, 3, 27, 3; 1000 classes).
struct ConvNeXtLayout {
  std::vector<int64_t> widths;  // channels of each stage
  std::vector<int64_t> depths;  // blocks of each stage
  int64_t num_classes = 0;      // outputs of the head
  int64_t in_channels = 3;      // image channels the stem takes (3 RGB, 1 grey)
  int64_t patch = 4;            // the stem's square patches: kernel and stride (torchvision: 4)
};

// One CNBlock: depthwise 7x7 conv, LayerNorm, 4x MLP with GELU, layer scale, residual.
struct ConvNeXtBlock {
  at::Tensor dw_weight, dw_bias;      // block.0
  at::Tensor norm_weight, norm_bias;  // block.2
  at::Tensor fc1_weight, fc1_bias;    // block.3
  at::Tensor fc2_weight, fc2_bias;    // block.5
  at::Tensor layer_scale;             // (C, 1, 1)
};

// A stage's downsampling layer: LayerNorm2d then a 2x2 stride-2 conv.
struct ConvNeXtDownsample {
  at::Tensor norm_weight, norm_bias;  // .0
  at::Tensor conv_weight, conv_bias;  // .1
};

// The network's weights and the names of its probe points.
class ConvNeXt {
 public:
  // Builds the network from a torchvision state dict; `source` names the file in
  // errors. Every tensor must be present with the shape the layout implies, and
  // no other tensor may be present.
  static ConvNeXt from_state_dict(const std::map<std::string, at::Tensor>& state,
                                  const std::string& source);

  // The layout read from the state dict.
  const ConvNeXtLayout& layout() const { return layout_; }
  // Probe point names in forward order: features.0, features.1.0, …, classifier.
  const std::vector<std::string>& probe_names() const { return probe_names_; }
  // Channels of each probe point (the class count for the head).
  const std::vector<int64_t>& probe_channels() const { return probe_channels_; }

  // How images are prepared for this network (ImageNet's pipeline unless its
  // config says otherwise; see load_convnext).
  const ClassifierPreprocess& preprocess() const { return preprocess_; }
  // Sets the pipeline; its channels must be the stem's (errors name `source`).
  void set_preprocess(const ClassifierPreprocess& preprocess, const std::string& source);

  // Logits (N, classes) of preprocessed images (N, in_channels, H, W). If `probes` is not
  // null it receives the output of every probe point, in probe_names() order.
  // With `training` the graph is recorded for autograd (no inference mode) and
  // the reference ATen kernels run instead of oneDNN's.
  at::Tensor forward(const at::Tensor& images, std::vector<at::Tensor>* probes = nullptr,
                     bool training = false) const;

  // Every weight under its torchvision name, in a fixed order (for training
  // and for writing the state dict); the pointers live as long as the network.
  std::vector<std::pair<std::string, at::Tensor*>> named_tensors();

  // Moves the weights to a device ("cpu", "cuda", "cuda:1").
  void to_device(const std::string& device);
  // The device the weights are on.
  std::string device() const;

 private:
  ConvNeXtLayout layout_;
  ClassifierPreprocess preprocess_;
  at::Tensor stem_weight_, stem_bias_, stem_norm_weight_, stem_norm_bias_;
  std::vector<std::vector<ConvNeXtBlock>> stages_;
  std::vector<ConvNeXtDownsample> downsamples_;  // after every stage but the last
  at::Tensor head_norm_weight_, head_norm_bias_, head_weight_, head_bias_;
  std::vector<std::string> probe_names_;
  std::vector<int64_t> probe_channels_;
};

// Reads a torchvision ConvNeXt checkpoint (.pth state dict or .safetensors)
// without executing anything and builds the network on the CPU. Its input
// pipeline is read from `config` (read_classifier_config), or is ImageNet's
// when `config` is empty.
ConvNeXt load_convnext(const std::filesystem::path& path, const std::filesystem::path& config = {});

// A freshly initialised state dict of `layout` as torchvision initialises
// ConvNeXt (truncated normal weights of std 0.02, zero biases, unit LayerNorms,
// layer scale 1e-6), drawn from LibTorch's CPU generator seeded with `seed`.
std::map<std::string, at::Tensor> convnext_initial_state(const ConvNeXtLayout& layout, uint64_t seed);

}  // namespace hdiff::image
