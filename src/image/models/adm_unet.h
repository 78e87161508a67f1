#pragma once
// The ADM U-Net of guided-diffusion (Dhariwal & Nichol 2021) in LibTorch, with
// the public module tree's parameter names (input_blocks.N..., middle_block...,
// output_blocks.N..., time_embed..., out..., label_emb), so that the published
// checkpoints load unchanged.

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <filesystem>
#include <memory>

#include "image/models/adm_config.h"
#include "image/checkpoint/checkpoint.h"

namespace torch::nn {
class Module;
}

namespace hdiff::image {

// An ADM U-Net: eps (and, with learned sigma, variance) prediction for noisy
// images in [-1, 1] at given original diffusion steps.
class AdmUnet {
 public:
  // Builds the network for `config` with LibTorch's default random initialisation.
  explicit AdmUnet(const AdmConfig& config);
  ~AdmUnet();
  AdmUnet(const AdmUnet&) = delete;
  AdmUnet& operator=(const AdmUnet&) = delete;

  // Loads a state dict file (.pt or .safetensors); errors list every parameter
  // that is missing, unexpected or mis-shaped.
  void load(const std::filesystem::path& checkpoint);
  // Loads already read tensors; `source` names them in errors.
  void load(const ckpt::TensorList& tensors, const std::string& source);

  // Moves the network to `device`; with `fp16` the convolutions of the input,
  // middle and output blocks run in half precision as guided-diffusion's
  // convert_to_fp16 does (norms, embeddings and the last convolution stay fp32).
  void to(const c10::Device& device, bool fp16);

  // The network output (N, out_channels, H, W) for images x (N, in_channels, H, W),
  // original steps `timesteps` (N,) and, for class-conditional models, labels y (N,).
  // Runs without autograd.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& timesteps, const at::Tensor& y = {}) const;
  // The same output with autograd recorded, for training (the same arithmetic as forward).
  at::Tensor forward_for_training(const at::Tensor& x, const at::Tensor& timesteps, const at::Tensor& y = {});

  // The configuration it was built from.
  const AdmConfig& config() const;
  // The LibTorch module tree (for named_parameters and the like).
  torch::nn::Module& module();
  // Number of parameters.
  int64_t parameter_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hdiff::image
