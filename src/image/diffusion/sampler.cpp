// guided-diffusion's p_mean_variance / p_sample / ddim_sample on a respaced
// schedule. Coefficients are float64 and enter as float32 scalars, as
// _extract_into_tensor does, so results match the PyTorch code closely.

#include "image/diffusion/sampler.h"

#include <torch/torch.h>

#include <cmath>

#include "common/error.h"
#include "noise/schedule.h"

namespace hdiff::image {
namespace {

// A float64 coefficient as the float32 value guided-diffusion multiplies with.
double f32(double v) { return static_cast<double>(static_cast<float>(v)); }

}  // namespace

GaussianDiffusion::GaussianDiffusion(DiffusionSchedule schedule, VarianceType variance, bool predict_xstart,
                                     bool rescale_timesteps, int original_steps)
    : schedule_(std::move(schedule)), variance_(variance), predict_xstart_(predict_xstart),
      rescale_timesteps_(rescale_timesteps), original_steps_(original_steps) {
  const auto& s = schedule_;
  const size_t n = s.betas.size();
  for (size_t i = 0; i < n; ++i) {
    if (variance_ == VarianceType::fixed_large)
      fixed_log_variance_.push_back(std::log(i == 0 && n > 1 ? s.posterior_variance[1] : s.betas[i]));
    else
      fixed_log_variance_.push_back(s.posterior_log_variance_clipped[i]);
  }
}

GaussianDiffusion GaussianDiffusion::from_config(const AdmConfig& config, const std::string& respacing) {
  const auto betas = ddpm_betas(parse_schedule(config.noise_schedule), config.diffusion_steps);
  const auto kept = space_timesteps(config.diffusion_steps, respacing.empty() ? config.timestep_respacing : respacing);
  const VarianceType variance = config.learn_sigma   ? VarianceType::learned_range
                                : config.sigma_small ? VarianceType::fixed_small
                                                     : VarianceType::fixed_large;
  return GaussianDiffusion(make_schedule(betas, kept), variance, config.predict_xstart, config.rescale_timesteps,
                           config.diffusion_steps);
}

at::Tensor GaussianDiffusion::q_sample(const at::Tensor& x0, int k, const at::Tensor& noise) const {
  HDIFF_CHECK(k >= 0 && k < num_steps());
  const auto i = static_cast<size_t>(k);
  return f32(schedule_.sqrt_alphas_cumprod[i]) * x0 + f32(schedule_.sqrt_one_minus_alphas_cumprod[i]) * noise;
}

StepResult GaussianDiffusion::p_sample(const ModelFn& model, const at::Tensor& x, int i, const at::Tensor& y,
                                       const at::Tensor& noise, const SamplerOptions& options) const {
  HDIFF_CHECK(i >= 0 && i < num_steps());
  const auto& s = schedule_;
  const auto at = static_cast<size_t>(i);
  const int64_t batch = x.size(0), channels = x.size(1);
  at::Tensor t = at::full({batch}, s.timestep_map[at], x.options().dtype(at::kLong));
  if (rescale_timesteps_) t = t.to(at::kFloat) * (1000.0 / original_steps_);
  at::Tensor out = model(x, t, y).to(x.scalar_type());

  at::Tensor model_output = out, log_variance;
  if (variance_ == VarianceType::learned_range) {
    if (out.size(1) != 2 * channels)
      fail("the network gives {} channels, but learned variance needs {}; check learn_sigma", out.size(1),
           2 * channels);
    auto parts = out.split(channels, 1);
    model_output = parts[0];
    const at::Tensor frac = (parts[1] + 1) / 2;
    log_variance = frac * f32(s.log_betas[at]) + (1 - frac) * f32(s.posterior_log_variance_clipped[at]);
  } else {
    if (out.size(1) != channels)
      fail("the network gives {} channels, but fixed variance needs {}; check learn_sigma", out.size(1), channels);
    log_variance = at::full_like(x, f32(fixed_log_variance_[at]));
  }

  at::Tensor pred_xstart = predict_xstart_ ? model_output
                                           : f32(s.sqrt_recip_alphas_cumprod[at]) * x -
                                                 f32(s.sqrt_recipm1_alphas_cumprod[at]) * model_output;
  if (options.clip_denoised) pred_xstart = pred_xstart.clamp(-1, 1);

  StepResult result;
  result.pred_xstart = pred_xstart;
  if (options.ddim) {
    const at::Tensor eps = (f32(s.sqrt_recip_alphas_cumprod[at]) * x - pred_xstart) /
                           f32(s.sqrt_recipm1_alphas_cumprod[at]);
    const double ab = f32(s.alphas_cumprod[at]), abp = f32(s.alphas_cumprod_prev[at]);
    const double sigma = options.eta * std::sqrt((1 - abp) / (1 - ab)) * std::sqrt(1 - ab / abp);
    at::Tensor mean = pred_xstart * std::sqrt(abp) + std::sqrt(1 - abp - sigma * sigma) * eps;
    result.sample = (i == 0 || sigma == 0.0) ? mean : mean + sigma * noise;
    return result;
  }
  const at::Tensor mean = f32(s.posterior_mean_coef1[at]) * pred_xstart + f32(s.posterior_mean_coef2[at]) * x;
  // No noise is added at the last step (guided-diffusion's nonzero_mask).
  result.sample = i == 0 ? mean : mean + at::exp(0.5 * log_variance) * noise;
  return result;
}

int reverse_steps(int k, int num_steps) { return k >= num_steps ? num_steps : k + 1; }

ForwardBackwardResult forward_backward(const GaussianDiffusion& diffusion, const ModelFn& model, const at::Tensor& x0,
                                       int k, const at::Tensor& y, const NoiseFn& noise,
                                       const SamplerOptions& options, bool keep_pred_xstart,
                                       const std::function<void()>& on_step) {
  const int K = diffusion.num_steps();
  if (k < 0 || k > K) fail("step k = {} is outside 0..{} (the respaced number of steps)", k, K);
  torch::NoGradGuard no_grad;
  ForwardBackwardResult result;
  // k = K is pure noise: the reverse process then starts at index K - 1.
  result.x_k = k == K ? noise(0).to(x0.options()) : diffusion.q_sample(x0, k, noise(0).to(x0.options()));
  at::Tensor x = result.x_k;
  int j = 1;
  for (int i = std::min(k, K - 1); i >= 0; --i, ++j) {
    const at::Tensor z = i > 0 ? noise(j).to(x.options()) : at::Tensor();
    StepResult step = diffusion.p_sample(model, x, i, y, z, options);
    x = step.sample;
    if (keep_pred_xstart) result.pred_xstart.push_back(step.pred_xstart);
    if (on_step) on_step();
  }
  result.sample = x;
  return result;
}

}  // namespace hdiff::image
