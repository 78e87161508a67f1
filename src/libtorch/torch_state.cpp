// Checkpoint tensors into a network's tensors: one check, one error line.

#include "libtorch/torch_state.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>
#include <torch/nn/module.h>

#include <set>
#include <vector>

#include "common/error.h"
#include "libtorch/torch_bridge.h"

namespace hdiff {
namespace {

// What the check needs to know of one state tensor, whichever type holds it.
struct StateEntry {
  std::vector<int64_t> shape;
  bool floating = false;
  std::string dtype;
};

StateEntry entry_of(const at::Tensor& t) {
  return {t.sizes().vec(), t.is_floating_point(), c10::toString(t.scalar_type())};
}

StateEntry entry_of(const ckpt::Tensor& t) {
  const auto type = scalar_type(t.dtype);
  return {t.shape, at::isFloatingType(type), c10::toString(type)};
}

at::Tensor as_torch(const at::Tensor& t) { return t; }
at::Tensor as_torch(const ckpt::Tensor& t) { return to_torch(t); }

template <class State>
void check_and_copy(const NamedTensors& targets, const State& state, const std::string& source,
                    const std::string& network) {
  std::vector<std::string> missing, unexpected, misshaped, mistyped;
  std::set<std::string> given;
  for (const auto& [name, tensor] : state) {
    given.insert(name);
    const auto entry = entry_of(tensor);
    const auto it = targets.find(name);
    if (it == targets.end()) {
      unexpected.push_back(fmt::format("{} {}", name, ckpt::shape_string(entry.shape)));
    } else if (it->second.sizes().vec() != entry.shape) {
      misshaped.push_back(fmt::format("{} (expected {}, found {})", name, shape_string(it->second.sizes()),
                                      ckpt::shape_string(entry.shape)));
    } else if (it->second.is_floating_point() && !entry.floating) {
      mistyped.push_back(fmt::format("{} (expected floating point, found {})", name, entry.dtype));
    }
  }
  for (const auto& [name, target] : targets)
    if (!given.count(name)) missing.push_back(fmt::format("{} {}", name, shape_string(target.sizes())));
  if (!missing.empty() || !unexpected.empty() || !misshaped.empty() || !mistyped.empty()) {
    std::string detail;
    auto add = [&](const char* label, const std::vector<std::string>& items) {
      if (items.empty()) return;
      detail += fmt::format("; {} {}: {}", items.size(), label, fmt::join(items, ", "));
    };
    add("missing", missing);
    add("unexpected", unexpected);
    add("mis-shaped", misshaped);
    add("mis-typed", mistyped);
    fail("{}: the state dict does not fit {}{}", source, network, detail);
  }
  c10::AutoGradMode no_grad(false);
  for (const auto& [name, tensor] : state) {
    const at::Tensor& target = targets.at(name);
    target.copy_(as_torch(tensor).to(target.scalar_type()));
  }
}

}  // namespace

void load_state(const NamedTensors& targets, const NamedTensors& state, const std::string& source,
                const std::string& network) {
  check_and_copy(targets, state, source, network);
}

void load_state(const NamedTensors& targets, const ckpt::TensorList& state, const std::string& source,
                const std::string& network) {
  check_and_copy(targets, state, source, network);
}

NamedTensors module_tensors(torch::nn::Module& module) {
  NamedTensors tensors;
  for (const auto& item : module.named_parameters(true)) tensors[item.key()] = item.value();
  for (const auto& item : module.named_buffers(true)) tensors[item.key()] = item.value();
  return tensors;
}

}  // namespace hdiff
