#include "image/models/classifier_input.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <cstring>

#include "common/error.h"

namespace hdiff::image {

at::Tensor image_tensor(const Image& image) {
  HDIFF_CHECK(image.rgb.size() == static_cast<size_t>(image.width) * image.height * 3);
  auto hwc = at::empty({image.height, image.width, 3}, at::TensorOptions().dtype(at::kByte));
  std::memcpy(hwc.data_ptr(), image.rgb.data(), image.rgb.size());
  return hwc.permute({2, 0, 1}).contiguous();
}

at::Tensor classifier_input(const at::Tensor& images_uint8) {
  c10::InferenceMode guard;
  auto x = images_uint8.dim() == 3 ? images_uint8.unsqueeze(0) : images_uint8;
  if (x.dim() != 4 || x.size(1) != 3 || x.scalar_type() != at::kByte)
    fail("classifier input must be 8-bit RGB images of shape (N, 3, H, W)");
  const int64_t h = x.size(2), w = x.size(3);
  if (h < 1 || w < 1) fail("classifier input image is empty ({}x{})", w, h);
  // torchvision: the shorter side becomes 232, the longer one is truncated.
  int64_t new_h = kClassifierResize, new_w = kClassifierResize;
  if (h <= w)
    new_w = static_cast<int64_t>(static_cast<double>(kClassifierResize) * static_cast<double>(w) /
                                 static_cast<double>(h));
  else
    new_h = static_cast<int64_t>(static_cast<double>(kClassifierResize) * static_cast<double>(h) /
                                 static_cast<double>(w));
  auto resized = x.to(at::kFloat);
  if (new_h != h || new_w != w)
    resized = at::upsample_bilinear2d(resized, {new_h, new_w}, /*align_corners=*/false);
  resized = resized.round().clamp(0, 255);
  // Python's round() is half-to-even, as is nearbyint in the default mode.
  const auto top = static_cast<int64_t>(std::nearbyint(static_cast<double>(new_h - kClassifierCrop) / 2.0));
  const auto left = static_cast<int64_t>(std::nearbyint(static_cast<double>(new_w - kClassifierCrop) / 2.0));
  auto crop = resized.slice(2, top, top + kClassifierCrop).slice(3, left, left + kClassifierCrop);
  const auto mean = at::tensor({0.485, 0.456, 0.406}, at::kFloat).view({1, 3, 1, 1}).to(x.device());
  const auto std = at::tensor({0.229, 0.224, 0.225}, at::kFloat).view({1, 3, 1, 1}).to(x.device());
  return ((crop / 255.0 - mean) / std).contiguous();
}

}  // namespace hdiff::image
