// Checkpoint tensors into LibTorch modules.

#include "image/models/torch_state.h"

#include <fmt/format.h>
#include <torch/nn/module.h>
#include <torch/torch.h>

#include <cstring>
#include <map>
#include <set>

#include "common/error.h"

namespace hdiff::image {

namespace {

at::ScalarType scalar_type(ckpt::TensorDType dtype) {
  switch (dtype) {
    case ckpt::TensorDType::f32: return at::kFloat;
    case ckpt::TensorDType::f16: return at::kHalf;
    case ckpt::TensorDType::bf16: return at::kBFloat16;
    case ckpt::TensorDType::f64: return at::kDouble;
    case ckpt::TensorDType::i64: return at::kLong;
    case ckpt::TensorDType::i32: return at::kInt;
    case ckpt::TensorDType::u8: return at::kByte;
    case ckpt::TensorDType::boolean: return at::kBool;
  }
  return at::kFloat;
}

}  // namespace

at::Tensor to_torch(const ckpt::Tensor& tensor) {
  at::Tensor out = torch::empty(tensor.shape, torch::TensorOptions().dtype(scalar_type(tensor.dtype)));
  if (!tensor.bytes.empty()) std::memcpy(out.data_ptr(), tensor.bytes.data(), tensor.bytes.size());
  return out;
}

ckpt::Tensor from_torch(const at::Tensor& tensor) {
  const at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
  ckpt::Tensor out;
  switch (t.scalar_type()) {
    case at::kFloat: out.dtype = ckpt::TensorDType::f32; break;
    case at::kHalf: out.dtype = ckpt::TensorDType::f16; break;
    case at::kBFloat16: out.dtype = ckpt::TensorDType::bf16; break;
    case at::kDouble: out.dtype = ckpt::TensorDType::f64; break;
    case at::kLong: out.dtype = ckpt::TensorDType::i64; break;
    case at::kInt: out.dtype = ckpt::TensorDType::i32; break;
    case at::kByte: out.dtype = ckpt::TensorDType::u8; break;
    case at::kBool: out.dtype = ckpt::TensorDType::boolean; break;
    default: fail("tensor dtype {} cannot be stored", std::string(c10::toString(t.scalar_type())));
  }
  out.shape = t.sizes().vec();
  out.bytes.resize(t.numel() * t.element_size());
  if (!out.bytes.empty()) std::memcpy(out.bytes.data(), t.data_ptr(), out.bytes.size());
  return out;
}

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
      misshaped.push_back(fmt::format("{} (expected {}, found {})", name, ckpt::shape_string(it->second.sizes().vec()),
                                      ckpt::shape_string(tensor.shape)));
    } else {
      found[name] = &tensor;
    }
  }
  std::set<std::string> given;
  for (const auto& item : tensors) given.insert(item.first);
  for (const auto& [name, param] : expected) {
    if (!given.count(name)) missing.push_back(fmt::format("{} {}", name, ckpt::shape_string(param.sizes().vec())));
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
