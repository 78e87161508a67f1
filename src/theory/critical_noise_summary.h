#pragma once
// The theories' critical noise of one model, as the lines `hdiff phase` prints
// beside the measured crossings of its class curves (`[report] theory = true`).

#include <optional>
#include <string>

#include "noise/channel.h"
#include "noise/schedule.h"

namespace hdiff {

// The population of the density-evolution search run beside a phase experiment:
// a tenth of `hdiff theory --threshold`'s, so that it takes a few seconds; its
// interval is wider, its point estimate within about 0.005 of the full search's.
inline constexpr int64_t kSummaryPopulation = 10000;

// Lines naming the mean-field ε* (soft channel only, where the papers' closed map
// applies) and the density-evolution critical noise with its interval (every
// channel; ᾱ for gaussian), each with the command that reproduces it. With a
// schedule, also the diffusion time at which it reaches that noise. A theory
// that does not apply to the model says so in its line; nothing throws.
std::string critical_noise_summary(int v, int n_classes, int m, int s, Channel channel,
                                   std::optional<Schedule> schedule);

}  // namespace hdiff
