// guided-diffusion's gaussian_diffusion.py and respace.py constants, in the same
// float64 arithmetic so that respaced steps and coefficients agree exactly.

#include "image/diffusion/diffusion_schedule.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "common/error.h"
#include "noise/schedule.h"

namespace hdiff::image {

std::vector<int> space_timesteps(int num_timesteps, const std::string& respacing) {
  std::vector<int> all;
  if (respacing.empty()) {
    for (int i = 0; i < num_timesteps; ++i) all.push_back(i);
    return all;
  }
  if (respacing.rfind("ddim", 0) == 0) {
    int desired = 0;
    try {
      desired = std::stoi(respacing.substr(4));
    } catch (const std::exception&) {
      fail("timestep respacing '{}' is not of the form ddimN", respacing);
    }
    for (int stride = 1; stride < num_timesteps; ++stride) {
      if ((num_timesteps + stride - 1) / stride == desired) {
        for (int i = 0; i < num_timesteps; i += stride) all.push_back(i);
        return all;
      }
    }
    fail("cannot take exactly {} steps of {} with an integer stride (ddim respacing)", desired, num_timesteps);
  }
  std::vector<int> counts;
  std::stringstream in(respacing);
  std::string part;
  while (std::getline(in, part, ',')) {
    try {
      counts.push_back(std::stoi(part));
    } catch (const std::exception&) {
      fail("timestep respacing '{}' must be a number of steps such as 250 (or 10,20,... per section)", respacing);
    }
  }
  if (counts.empty()) fail("timestep respacing '{}' is empty", respacing);
  const int sections = static_cast<int>(counts.size());
  const int size_per = num_timesteps / sections, extra = num_timesteps % sections;
  int start = 0;
  std::set<int> kept;
  for (int i = 0; i < sections; ++i) {
    const int size = size_per + (i < extra ? 1 : 0);
    const int count = counts[static_cast<size_t>(i)];
    if (count <= 0 || size < count) fail("cannot divide a section of {} steps into {} steps", size, count);
    const double stride = count <= 1 ? 1.0 : static_cast<double>(size - 1) / (count - 1);
    double cur = 0.0;
    for (int j = 0; j < count; ++j) {
      // Python's round() rounds halves to even, as nearbyint does.
      kept.insert(start + static_cast<int>(std::nearbyint(cur)));
      cur += stride;
    }
    start += size;
  }
  return {kept.begin(), kept.end()};
}

DiffusionSchedule make_schedule(const std::vector<double>& base_betas, const std::vector<int>& kept) {
  DiffusionSchedule s;
  // Respacing: keep the cumulative alphas of the kept steps, recompute betas.
  const std::vector<double> base = alpha_bars(base_betas);
  double last = 1.0;
  int previous = -1;
  for (const int step : kept) {
    HDIFF_CHECK(step > previous && static_cast<size_t>(step) < base_betas.size());
    previous = step;
    const double cumprod = base[static_cast<size_t>(step) + 1];
    s.betas.push_back(1.0 - cumprod / last);
    last = cumprod;
    s.timestep_map.push_back(step);
  }
  const size_t n = s.betas.size();
  const std::vector<double> respaced = alpha_bars(s.betas);
  s.alphas_cumprod_prev.assign(respaced.begin(), respaced.end() - 1);
  s.alphas_cumprod.assign(respaced.begin() + 1, respaced.end());
  for (size_t i = 0; i < n; ++i) {
    const double a = s.alphas_cumprod[i], ap = s.alphas_cumprod_prev[i], b = s.betas[i];
    s.sqrt_alphas_cumprod.push_back(std::sqrt(a));
    s.sqrt_one_minus_alphas_cumprod.push_back(std::sqrt(1.0 - a));
    s.sqrt_recip_alphas_cumprod.push_back(std::sqrt(1.0 / a));
    s.sqrt_recipm1_alphas_cumprod.push_back(std::sqrt(1.0 / a - 1.0));
    s.posterior_variance.push_back(b * (1.0 - ap) / (1.0 - a));
    s.posterior_mean_coef1.push_back(b * std::sqrt(ap) / (1.0 - a));
    s.posterior_mean_coef2.push_back((1.0 - ap) * std::sqrt(1.0 - b) / (1.0 - a));
    s.log_betas.push_back(std::log(b));
  }
  // The posterior variance is 0 at step 0, so its log is clipped to step 1's value.
  for (size_t i = 0; i < n; ++i)
    s.posterior_log_variance_clipped.push_back(std::log(n > 1 && i == 0 ? s.posterior_variance[1] : s.posterior_variance[i]));
  return s;
}

}  // namespace hdiff::image
