#pragma once
// Gaussian diffusion sampling with a network (guided-diffusion's
// GaussianDiffusion on a respaced schedule): forward noising q(x_k | x_0), the
// ancestral and DDIM reverse steps, and the forward–backward experiment of SPEC §6.

#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

#include "image/models/adm_config.h"
#include "image/diffusion/diffusion_schedule.h"

namespace hdiff::image {

// The network as the sampler sees it: output for images x, original diffusion
// steps t (N,) and labels y (undefined when unconditional).
using ModelFn = std::function<at::Tensor(const at::Tensor& x, const at::Tensor& t, const at::Tensor& y)>;

// How the reverse process picks its variance (guided-diffusion's ModelVarType).
enum class VarianceType { learned_range, fixed_large, fixed_small };

// Reverse-step choices.
struct SamplerOptions {
  // DDIM instead of ancestral sampling.
  bool ddim = false;
  // DDIM's eta (0: deterministic).
  double eta = 0.0;
  // Clip the x0 prediction to [-1, 1] (guided-diffusion's clip_denoised).
  bool clip_denoised = true;
};

// One reverse step's result.
struct StepResult {
  at::Tensor sample;
  at::Tensor pred_xstart;
};

// A respaced Gaussian diffusion tied to its variance and prediction types.
class GaussianDiffusion {
 public:
  GaussianDiffusion(DiffusionSchedule schedule, VarianceType variance, bool predict_xstart, bool rescale_timesteps,
                    int original_steps);

  // The diffusion of a model config; a non-empty `respacing` replaces the config's.
  static GaussianDiffusion from_config(const AdmConfig& config, const std::string& respacing = "");

  // x_k = sqrt(ᾱ_k) x0 + sqrt(1 - ᾱ_k) noise at respaced index k (0 <= k < K).
  at::Tensor q_sample(const at::Tensor& x0, int k, const at::Tensor& noise) const;

  // One reverse step from respaced index i (ancestral or DDIM); `noise` is unused
  // at i = 0 and may then be undefined.
  StepResult p_sample(const ModelFn& model, const at::Tensor& x, int i, const at::Tensor& y,
                      const at::Tensor& noise, const SamplerOptions& options) const;

  // The respaced schedule.
  const DiffusionSchedule& schedule() const { return schedule_; }
  // Number of respaced steps K.
  int num_steps() const { return schedule_.num_steps(); }

 private:
  DiffusionSchedule schedule_;
  VarianceType variance_;
  bool predict_xstart_;
  bool rescale_timesteps_;
  int original_steps_;
  std::vector<double> fixed_log_variance_;
};

// The j-th Gaussian noise of a run: j = 0 noises x0 to x_k, j = 1, 2, ... are the
// reverse steps in the order they are taken.
using NoiseFn = std::function<at::Tensor(int j)>;

// Outputs of a forward–backward run.
struct ForwardBackwardResult {
  at::Tensor x_k;
  at::Tensor sample;
  // The clipped x0 prediction of every reverse step, in order (when requested).
  std::vector<at::Tensor> pred_xstart;
};

// Noises x0 to respaced index k (k = K: pure noise) and runs the reverse process
// down to index 0 (from k, or from K-1 when k = K). `on_step` is called after each
// reverse step (for progress and interruption).
ForwardBackwardResult forward_backward(const GaussianDiffusion& diffusion, const ModelFn& model, const at::Tensor& x0,
                                       int k, const at::Tensor& y, const NoiseFn& noise,
                                       const SamplerOptions& options, bool keep_pred_xstart,
                                       const std::function<void()>& on_step = {});

// The number of reverse steps a forward–backward run at k takes (k + 1, or K at k = K).
int reverse_steps(int k, int num_steps);

}  // namespace hdiff::image
