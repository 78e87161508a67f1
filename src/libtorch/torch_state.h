#pragma once
// The one loading path of every network: a state dict checked against the
// tensors the network is made of, then copied into them (conversions:
// libtorch/torch_bridge.h). ADM (a torch::nn::Module) and ConvNeXt (plain
// ATen tensors) both load through load_state, and so must every later network.

#include <ATen/core/Tensor.h>

#include <map>
#include <string>

#include "image/checkpoint/checkpoint.h"

namespace torch::nn {
class Module;
}

namespace hdiff {

// A network's tensors by state-dict name. Each value is a handle on the
// network's own storage, already of the shape and dtype the network expects;
// load_state overwrites the values in place.
using NamedTensors = std::map<std::string, at::Tensor>;

// Checks `state` against `targets`, then copies every state tensor into its
// target (converting to the target's dtype). Every target must be present with
// its exact shape, a floating-point target needs a floating-point tensor, and
// no other tensor may be present: otherwise one Error, on one line, names every
// missing, unexpected, mis-shaped and mis-typed tensor with its shapes, and
// nothing is copied. `source` names the file, `network` says what it should hold
// (e.g. "a torchvision ConvNeXt state dict (e.g. convnext_base-6075fbad.pth)").
void load_state(const NamedTensors& targets, const NamedTensors& state, const std::string& source,
                const std::string& network);
// The same for checkpoint tensors, converted to LibTorch one at a time while
// copying (a large checkpoint is never held twice).
void load_state(const NamedTensors& targets, const ckpt::TensorList& state, const std::string& source,
                const std::string& network);

// The parameters and buffers of `module` (recursively), by their state-dict names.
NamedTensors module_tensors(torch::nn::Module& module);

}  // namespace hdiff
