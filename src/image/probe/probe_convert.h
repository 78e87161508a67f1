#pragma once
// Conversions from the plain C++ types of checkpoints and image files to ATen
// tensors, for the classifier probe. Include only from LibTorch translation units.

#include <ATen/ATen.h>

#include <cstring>

#include "common/error.h"
#include "image/checkpoint/checkpoint.h"
#include "image/io/image_io.h"

namespace hdiff::image {

// A checkpoint tensor as an ATen CPU tensor of the same dtype and shape.
inline at::Tensor to_aten(const ckpt::Tensor& tensor) {
  at::ScalarType type = at::kFloat;
  switch (tensor.dtype) {
    case ckpt::TensorDType::f32: type = at::kFloat; break;
    case ckpt::TensorDType::f16: type = at::kHalf; break;
    case ckpt::TensorDType::bf16: type = at::kBFloat16; break;
    case ckpt::TensorDType::f64: type = at::kDouble; break;
    case ckpt::TensorDType::i64: type = at::kLong; break;
    case ckpt::TensorDType::i32: type = at::kInt; break;
    case ckpt::TensorDType::u8: type = at::kByte; break;
    case ckpt::TensorDType::boolean: type = at::kBool; break;
  }
  auto out = at::empty(tensor.shape, at::TensorOptions().dtype(type));
  HDIFF_CHECK(static_cast<size_t>(out.nbytes()) == tensor.bytes.size());
  if (!tensor.bytes.empty()) std::memcpy(out.data_ptr(), tensor.bytes.data(), tensor.bytes.size());
  return out;
}

// An RGB image as a uint8 tensor (3, H, W).
inline at::Tensor to_aten(const Image& image) {
  HDIFF_CHECK(image.rgb.size() == static_cast<size_t>(image.width) * image.height * 3);
  auto hwc = at::empty({image.height, image.width, 3}, at::TensorOptions().dtype(at::kByte));
  std::memcpy(hwc.data_ptr(), image.rgb.data(), image.rgb.size());
  return hwc.permute({2, 0, 1}).contiguous();
}

}  // namespace hdiff::image
