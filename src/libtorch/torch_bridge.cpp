// Conversions between checkpoint tensors and LibTorch tensors, and the
// device and precision choices shared by every LibTorch job.

#include "libtorch/torch_bridge.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/cuda.h>

#include <cstring>

#include "cluster/cluster.h"
#include "common/error.h"

namespace hdiff {

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

at::Tensor to_torch(const ckpt::Tensor& tensor) {
  at::Tensor out = at::empty(tensor.shape, at::TensorOptions().dtype(scalar_type(tensor.dtype)));
  HDIFF_CHECK(static_cast<size_t>(out.nbytes()) == tensor.bytes.size());
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

std::string shape_string(at::IntArrayRef shape) { return ckpt::shape_string(shape.vec()); }

std::string choose_device(const std::string& choice) {
  // Several ranks on one machine share its GPUs: each takes the next one in turn.
  const auto per_rank = [](const std::string& cuda) {
    if (cluster::size() == 1 || cuda != "cuda") return cuda;
    return fmt::format("cuda:{}", cluster::local_rank() % static_cast<int>(torch::cuda::device_count()));
  };
  if (choice == "auto") return torch::cuda::is_available() ? per_rank("cuda") : "cpu";
  if (choice == "cpu") return choice;
  if (choice.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available())
      fail("--device {}: CUDA is not available (no GPU visible, or LibTorch built without CUDA); use --device cpu",
           choice);
    try {
      (void)c10::Device(choice);
    } catch (const std::exception&) {
      fail("--device '{}' is not a device name; use cpu, cuda or cuda:N", choice);
    }
    return per_rank(choice);
  }
  fail("--device '{}' is not a device name; use auto, cpu, cuda or cuda:N", choice);
}

bool use_fp16(const std::string& precision, bool model_fp16, const std::string& device) {
  const bool cuda = device.rfind("cuda", 0) == 0;
  if (precision == "fp32") return false;
  if (precision == "fp16") {
    if (!cuda) fail("--precision fp16 needs a CUDA device (LibTorch has no fp16 convolutions on CPU)");
    return true;
  }
  if (precision != "auto") fail("--precision must be auto, fp32 or fp16, got '{}'", precision);
  return cuda && model_fp16;
}

}  // namespace hdiff
