#pragma once
// The one bridge between hdiff's plain C++ types and LibTorch: tensor
// conversions, shape strings, the device choice and the fp16 choice. Every
// LibTorch file (src/image and every later network) converts through here
// rather than writing its own dtype switch. Layering: src/libtorch sits just
// above the checkpoint reader (plain C++) and the cluster, below every folder
// that uses LibTorch, so it includes nothing from those. Include only from
// LibTorch translation units.

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <string>

#include "image/checkpoint/checkpoint.h"

namespace hdiff {

// The LibTorch dtype of a checkpoint dtype (every checkpoint dtype has one).
at::ScalarType scalar_type(ckpt::TensorDType dtype);

// A CPU LibTorch tensor holding a copy of a checkpoint tensor (same dtype and shape).
at::Tensor to_torch(const ckpt::Tensor& tensor);

// A checkpoint tensor holding a copy of a LibTorch tensor (moved to CPU, made
// contiguous); for writing reference files in tests. Dtypes a checkpoint cannot
// hold are an Error.
ckpt::Tensor from_torch(const at::Tensor& tensor);

// "[d0, d1, ...]": the shape as every error message of hdiff writes it.
std::string shape_string(at::IntArrayRef shape);

// The device a choice names: "auto" (CUDA when available, else "cpu"), "cpu",
// "cuda" or "cuda:N". With several ranks on one machine, "auto" and "cuda" give
// each rank the next GPU in turn. An unavailable or malformed device is an Error
// naming the choice.
std::string choose_device(const std::string& choice);

// Whether a network runs in fp16: `precision` "fp32" never, "fp16" always (an
// Error off CUDA: LibTorch has no fp16 convolutions on CPU), "auto" when the
// model asks for it (`model_fp16`) and `device` is CUDA. Other precisions are an Error.
bool use_fp16(const std::string& precision, bool model_fp16, const std::string& device);

}  // namespace hdiff
