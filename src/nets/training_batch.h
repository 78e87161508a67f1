#pragma once
// The random part of one training step, drawn in plain C++ from hdiff's
// counter-based streams (common/random.h), never from a thread's or LibTorch's
// global generator: the minibatch, the noise level and the noised tokens of row
// r at step k come from the stream (train seed, k, r) alone, so a run resumed
// from a checkpoint at step k draws exactly what an uninterrupted run draws.

#include <cstdint>
#include <span>
#include <vector>

#include "nets/net_config.h"

namespace hdiff::nets {

// Smallest masking level of the masked process: its loss weighs 1/t.
inline constexpr double kMinMaskLevel = 1e-3;

struct TrainingBatch {
  int64_t rows = 0, length = 0;
  std::vector<int64_t> clean;   // rows × d tokens x₀
  std::vector<int64_t> noisy;   // rows × d tokens x_t (mask: MASK = v where masked)
  std::vector<float> noise;     // per row: t (mask) or ε_k = 1 − ᾱ_k (uniform)
  std::vector<int64_t> step;    // per row: k (uniform; 0 under mask)
};

// The batch of training step `step` (from 1): `config.batch` rows, each a
// training string chosen uniformly from `training` (P strings of d tokens).
// Mask: t_r = (u + r/B) mod 1 (antithetic; u shared by the rows), at least
// kMinMaskLevel, each token masked with probability t_r. Uniform: k_r uniform in
// 1..T, each token redrawn uniformly from [v] with probability 1 − ᾱ_k
// (`alpha_bars` = ᾱ_0..ᾱ_T).
TrainingBatch draw_training_batch(const NetConfig& config, std::span<const uint32_t> training, int64_t step,
                                  std::span<const double> alpha_bars);

}  // namespace hdiff::nets
