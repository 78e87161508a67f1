#pragma once
// Diffusion schedules mapping a time step t ∈ [0, T] to the keep-probability ᾱ(t)
// (SPEC §2). Discrete channels use ε = 1 - ᾱ(t); the gaussian one uses ᾱ(t).

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

// ᾱ_t for t = 0..T (ᾱ_0 = 1).
std::vector<double> alpha_bar_table(Schedule schedule);
// ᾱ at integer time t ∈ [0, T]; other times are an Error.
double alpha_bar_at(Schedule schedule, double t);
// The (fractional, linearly interpolated) time at which ᾱ falls to `alpha_bar`.
double time_at_alpha_bar(Schedule schedule, double alpha_bar);

}  // namespace hdiff
