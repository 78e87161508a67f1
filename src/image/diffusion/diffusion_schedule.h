#pragma once
// Gaussian diffusion coefficients as guided-diffusion computes them (float64):
// timestep respacing and the per-step constants of q and p. The betas and ᾱs
// themselves come from the one DDPM schedule of the core (noise/schedule.h).

#include <string>
#include <vector>

namespace hdiff::image {

// The original steps kept by respacing `num_timesteps` with guided-diffusion's
// rule: "K" or "K1,K2,..." (equal sections, evenly spaced rounded indices) or
// "ddimK" (a fixed stride). Empty keeps every step. Sorted ascending.
std::vector<int> space_timesteps(int num_timesteps, const std::string& respacing);

// Per-step constants of a (respaced) diffusion; index i is respaced step i.
struct DiffusionSchedule {
  // The original step number of every respaced index (what the network is given).
  std::vector<int> timestep_map;
  std::vector<double> betas;
  std::vector<double> alphas_cumprod;
  std::vector<double> alphas_cumprod_prev;
  std::vector<double> sqrt_alphas_cumprod;
  std::vector<double> sqrt_one_minus_alphas_cumprod;
  std::vector<double> sqrt_recip_alphas_cumprod;
  std::vector<double> sqrt_recipm1_alphas_cumprod;
  std::vector<double> posterior_variance;
  std::vector<double> posterior_log_variance_clipped;
  std::vector<double> posterior_mean_coef1;
  std::vector<double> posterior_mean_coef2;
  std::vector<double> log_betas;
  // Number of respaced steps K.
  int num_steps() const { return static_cast<int>(betas.size()); }
};

// The schedule of the base betas (e.g. ddpm_betas of noise/schedule.h) restricted
// to `kept` original steps, with betas recomputed from the kept cumulative alphas
// (guided-diffusion's SpacedDiffusion).
DiffusionSchedule make_schedule(const std::vector<double>& base_betas, const std::vector<int>& kept);

}  // namespace hdiff::image
