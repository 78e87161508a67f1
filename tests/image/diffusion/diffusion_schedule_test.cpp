// The image sampler's respaced schedule, now built on the core's DDPM schedule
// (noise/schedule.h), holds bit for bit the floats it held when the image side
// computed its own betas and cumulative products (before issue 27).

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "image/diffusion/diffusion_schedule.h"
#include "noise/schedule.h"

namespace {

using hdiff::image::DiffusionSchedule;

// make_schedule's respacing and cumulative products as they were written before.
DiffusionSchedule respaced_before(const std::vector<double>& base_betas, const std::vector<int>& kept) {
  DiffusionSchedule s;
  double cumprod = 1.0, last = 1.0;
  size_t next = 0;
  for (size_t i = 0; i < base_betas.size() && next < kept.size(); ++i) {
    cumprod *= 1.0 - base_betas[i];
    if (static_cast<int>(i) == kept[next]) {
      s.betas.push_back(1.0 - cumprod / last);
      last = cumprod;
      s.timestep_map.push_back(static_cast<int>(i));
      ++next;
    }
  }
  double ac = 1.0;
  for (const double b : s.betas) {
    s.alphas_cumprod_prev.push_back(ac);
    ac *= 1.0 - b;
    s.alphas_cumprod.push_back(ac);
  }
  return s;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

TEST(DiffusionSchedule, RespacedFloatsUnchangedBitForBit) {
  for (const std::string name : {"linear", "cosine"}) {
    for (const int steps : {50, 100, 1000, 4000}) {
      for (const std::string respacing : {"", "5", "10", "ddim5", "3,2"}) {
        const auto base = hdiff::ddpm_betas(hdiff::parse_schedule(name), steps);
        const auto kept = hdiff::image::space_timesteps(steps, respacing);
        const auto now = hdiff::image::make_schedule(base, kept);
        const auto before = respaced_before(base, kept);
        const std::string where = name + ", " + std::to_string(steps) + " steps, respacing '" + respacing + "'";
        EXPECT_EQ(now.timestep_map, before.timestep_map) << where;
        EXPECT_TRUE(same_bits(now.betas, before.betas)) << where;
        EXPECT_TRUE(same_bits(now.alphas_cumprod, before.alphas_cumprod)) << where;
        EXPECT_TRUE(same_bits(now.alphas_cumprod_prev, before.alphas_cumprod_prev)) << where;
        std::vector<double> sqrt_before;
        for (const double a : before.alphas_cumprod) sqrt_before.push_back(std::sqrt(a));
        EXPECT_TRUE(same_bits(now.sqrt_alphas_cumprod, sqrt_before)) << where;
      }
    }
  }
}

TEST(DiffusionSchedule, UnsortedOrOutOfRangeStepsAreRefused) {
  const auto base = hdiff::ddpm_betas(hdiff::Schedule::linear, 10);
  EXPECT_THROW(hdiff::image::make_schedule(base, {3, 2}), std::exception);
  EXPECT_THROW(hdiff::image::make_schedule(base, {10}), std::exception);
}

}  // namespace
