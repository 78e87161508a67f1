#pragma once
// Loading a state dict of checkpoint tensors into a LibTorch module, with an
// exact report of what does not fit (conversions: image/bridge/torch_bridge.h).

#include <string>

#include "image/checkpoint/checkpoint.h"

namespace torch::nn {
class Module;
}

namespace hdiff::image {

// Copies `tensors` into the parameters and buffers of `module` (converting dtype
// to each parameter's). Every parameter must be present with its exact shape and
// nothing else may be: otherwise one error lists each missing, unexpected and
// mis-shaped entry with the expected and found shapes. `source` names the file.
void load_state_dict(torch::nn::Module& module, const ckpt::TensorList& tensors, const std::string& source);

}  // namespace hdiff::image
