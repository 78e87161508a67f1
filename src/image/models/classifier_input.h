#pragma once
// A classifier's input pipeline on uint8 tensors, from its config: optionally
// convert to one grey channel, resize the shorter side with bilinear
// interpolation, centre-crop, scale to [0, 1] and normalise by a per-channel
// mean and standard deviation.
//
// The default is the pipeline of torchvision's ConvNeXt-Base ImageNet weights
// (ConvNeXt_Base_Weights.IMAGENET1K_V1.transforms()): RGB, resize 232, crop
// 224, the ImageNet mean and standard deviation. The resize is not
// antialiased: torchvision's tensor path without antialias, which is what the
// reference outputs in fixtures/image/convnext were made with (an antialiased
// resize differs from them by up to 57/255 on noisy images). A classifier of
// another shape (e.g. greyscale 28×28 Fashion-MNIST) states its own pipeline in
// a JSON config (read_classifier_config).

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "image/io/image_io.h"

namespace hdiff::image {

// An RGB image as a CPU uint8 tensor of shape (3, H, W), the input classifier_input takes.
at::Tensor image_tensor(const Image& image);

// How a classifier's images are prepared; the defaults are ImageNet's (above).
struct ClassifierPreprocess {
  int64_t resize = 232;  // shorter side after the resize (no resize where the image has it already)
  int64_t crop = 224;    // side of the centre crop fed to the network, at most `resize`
  int64_t channels = 3;  // 3: RGB; 1: grey, PIL's convert("L") (ITU-R 601-2 luma, rounded)
  std::vector<double> mean = {0.485, 0.456, 0.406};  // per channel, of pixels scaled to [0, 1]
  std::vector<double> std = {0.229, 0.224, 0.225};   // per channel, each > 0

  // Checks the fields agree (sizes 1..4096, crop <= resize, channels 1 or 3,
  // one finite mean and positive std per channel); errors name `source`.
  void validate(const std::string& source) const;
  bool operator==(const ClassifierPreprocess&) const = default;
};

// Shorter side after the resize, and crop side, of ImageNet's pipeline.
inline constexpr int64_t kClassifierResize = 232;
inline constexpr int64_t kClassifierCrop = 224;

// Reads a classifier config: a JSON object whose "input" object holds any of
// "resize", "crop", "channels", "mean", "std" (missing ones keep ImageNet's
// values; other keys of "input" are errors). Keys beside "input" (the
// architecture and class names `hdiff images train-classifier` records) are
// not read here.
ClassifierPreprocess read_classifier_config(const std::filesystem::path& path);

// The JSON object read_classifier_config reads back.
std::string classifier_config_json(const ClassifierPreprocess& preprocess);

// Preprocesses uint8 RGB images, (3, H, W) or (N, 3, H, W) with equal sizes,
// into float (N, channels, crop, crop). Like torchvision on uint8 tensors, the
// resized image is rounded back to 8 bits before scaling.
at::Tensor classifier_input(const at::Tensor& images_uint8, const ClassifierPreprocess& preprocess = {});

}  // namespace hdiff::image
