#pragma once
// Bridges from checkpoint tensors to LibTorch: tensor conversion and loading a
// state dict into a module with an exact report of what does not fit.

#include <ATen/core/Tensor.h>

#include <string>

#include "image/checkpoint/checkpoint.h"

namespace torch::nn {
class Module;
}

namespace hdiff::image {

// A CPU LibTorch tensor holding a copy of a checkpoint tensor (same dtype and shape).
at::Tensor to_torch(const ckpt::Tensor& tensor);

// A checkpoint tensor holding a copy of a LibTorch tensor (moved to CPU, made
// contiguous); for writing reference files in tests.
ckpt::Tensor from_torch(const at::Tensor& tensor);

// Copies `tensors` into the parameters and buffers of `module` (converting dtype
// to each parameter's). Every parameter must be present with its exact shape and
// nothing else may be: otherwise one error lists each missing, unexpected and
// mis-shaped entry with the expected and found shapes. `source` names the file.
void load_state_dict(torch::nn::Module& module, const ckpt::TensorList& tensors, const std::string& source);

}  // namespace hdiff::image
