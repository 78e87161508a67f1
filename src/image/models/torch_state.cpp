// Checkpoint tensors into LibTorch modules.

#include "image/models/torch_state.h"

#include <fmt/format.h>
#include <torch/nn/module.h>
#include <torch/torch.h>

#include <map>
#include <set>

#include "common/error.h"
#include "image/bridge/torch_bridge.h"

namespace hdiff::image {

void load_state_dict(torch::nn::Module& module, const ckpt::TensorList& tensors, const std::string& source) {
  std::map<std::string, at::Tensor> expected;
  for (const auto& item : module.named_parameters(true)) expected[item.key()] = item.value();
  for (const auto& item : module.named_buffers(true)) expected[item.key()] = item.value();

  std::vector<std::string> missing, unexpected, misshaped;
  std::map<std::string, const ckpt::Tensor*> found;
  for (const auto& [name, tensor] : tensors) {
    auto it = expected.find(name);
    if (it == expected.end()) {
      unexpected.push_back(fmt::format("{} {}", name, ckpt::shape_string(tensor.shape)));
    } else if (it->second.sizes().vec() != tensor.shape) {
      misshaped.push_back(fmt::format("{} (expected {}, found {})", name, shape_string(it->second.sizes()),
                                      ckpt::shape_string(tensor.shape)));
    } else {
      found[name] = &tensor;
    }
  }
  std::set<std::string> given;
  for (const auto& item : tensors) given.insert(item.first);
  for (const auto& [name, param] : expected) {
    if (!given.count(name)) missing.push_back(fmt::format("{} {}", name, shape_string(param.sizes())));
  }
  if (!missing.empty() || !unexpected.empty() || !misshaped.empty()) {
    std::string detail;
    auto add = [&](const char* label, const std::vector<std::string>& items) {
      if (items.empty()) return;
      detail += fmt::format("; {} {}: {}", items.size(), label, fmt::join(items, ", "));
    };
    add("missing", missing);
    add("unexpected", unexpected);
    add("mis-shaped", misshaped);
    fail("{}: the state dict does not fit the model configuration (check --model-config/--preset){}", source,
         detail);
  }
  torch::NoGradGuard no_grad;
  for (const auto& [name, tensor] : found) {
    at::Tensor& target = expected[name];
    target.copy_(to_torch(*tensor).to(target.scalar_type()));
  }
}

}  // namespace hdiff::image
