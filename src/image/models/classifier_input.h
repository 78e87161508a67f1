#pragma once
// The input pipeline of torchvision's ConvNeXt-Base ImageNet weights
// (ConvNeXt_Base_Weights.IMAGENET1K_V1.transforms()) applied to uint8 tensors:
// resize the shorter side to 232 with bilinear interpolation, centre-crop 224,
// scale to [0, 1] and normalise by the ImageNet mean and standard deviation.
// The resize is not antialiased: torchvision's tensor path without antialias,
// which is what the reference outputs in fixtures/image/convnext were made with
// (an antialiased resize differs from them by up to 57/255 on noisy images).

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "image/io/image_io.h"

namespace hdiff::image {

// An RGB image as a CPU uint8 tensor of shape (3, H, W), the input classifier_input takes.
at::Tensor image_tensor(const Image& image);

// Shorter side after the resize.
inline constexpr int64_t kClassifierResize = 232;
// Side of the centre crop fed to the network.
inline constexpr int64_t kClassifierCrop = 224;

// Preprocesses uint8 images, (3, H, W) or (N, 3, H, W) with equal sizes, into
// float (N, 3, 224, 224). Like torchvision on uint8 tensors, the resized image
// is rounded back to 8 bits before scaling.
at::Tensor classifier_input(const at::Tensor& images_uint8);

}  // namespace hdiff::image
