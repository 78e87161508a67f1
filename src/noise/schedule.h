#pragma once
// Diffusion schedules mapping a time step t ∈ [0, T] to the keep-probability ᾱ(t)
// (SPEC §2). Discrete channels use ε = 1 - ᾱ(t); the gaussian one uses ᾱ(t).
// This is the one DDPM schedule of hdiff: the token channels read ᾱ from it and
// the image sampler (src/image/diffusion) takes its betas and ᾱs from it, in
// guided-diffusion's float64 arithmetic so that the image side matches PyTorch.
// Plain C++: no LibTorch.

#include <string>
#include <vector>

namespace hdiff {

// The noise schedules of DDPM (linear) and improved DDPM (cosine).
enum class Schedule { linear, cosine };

// Number of diffusion steps T of both schedules.
constexpr int kDiffusionSteps = 1000;

// "linear" | "cosine" → Schedule; other names are an Error.
Schedule parse_schedule(const std::string& name);
// The schedule's name.
std::string schedule_name(Schedule schedule);

// β_1..β_steps (index i holds β_{i+1}) of a schedule of `steps` ≥ 1 steps, as
// guided-diffusion computes them: linear is numpy.linspace(1e-4·s, 0.02·s, steps)
// with s = 1000/steps (the last beta exactly 0.02·s); cosine is improved DDPM's
// 1 - ᾱ(t_{i+1})/ᾱ(t_i) with offset 0.008, clipped at 0.999.
std::vector<double> ddpm_betas(Schedule schedule, int steps);

// ᾱ_0..ᾱ_n of betas β_1..β_n: ᾱ_0 = 1, ᾱ_k = ᾱ_{k-1}·(1 - β_k), multiplied in this order.
std::vector<double> alpha_bars(const std::vector<double>& betas);

// ᾱ_t for t = 0..T (ᾱ_0 = 1): alpha_bars(ddpm_betas(schedule, T)).
std::vector<double> alpha_bar_table(Schedule schedule);
// ᾱ at integer time t ∈ [0, T]; other times are an Error.
double alpha_bar_at(Schedule schedule, double t);
// The (fractional, linearly interpolated) time at which ᾱ falls to `alpha_bar`.
double time_at_alpha_bar(Schedule schedule, double alpha_bar);

}  // namespace hdiff
