#pragma once
// How well a masked-diffusion denoiser models text: the MDLM bound on the
// negative log-likelihood in bits per token (docs/text.md, "Bits per
// character"). Plain C++ on a TokenDenoiser (denoiser/token_denoiser.h).
// Guarantee: every mask is drawn from a counter-based stream keyed by (seed,
// sequence, level), so the result does not depend on batching or threads.

#include <cstdint>
#include <span>

#include "denoiser/token_denoiser.h"
#include "experiment/changes.h"

namespace hdiff::text {

// Levels of the midpoint rule unless told otherwise.
inline constexpr int kBitsLevels = 8;

// The continuous-time MDLM bound with α_t = 1 − t, −log₂ p(x₀) / d ≤
// ∫₀¹ E[(1/t)·Σ_{masked i} −log₂ p_θ(x₀_i | x_t)] dt / d, by the midpoint rule
// over `levels` levels t_k = (k + ½)/K: for each of the `count` sequences of
// `sequences` (count × d tokens in [0, v)) and each level, positions are masked
// with probability t_k from the stream (seed, noise, n, k), the denoiser is
// called at noise t_k, and the sequence's value is the mean over k of
// (1/(t_k·d))·Σ_{masked i} −log₂ p. Returns the mean over sequences and its
// standard error. For characters it is bits per character.
Estimate masked_bits_per_token(const TokenDenoiser& denoiser, int v, int64_t d, std::span<const uint32_t> sequences,
                               uint64_t seed, int levels = kBitsLevels);

}  // namespace hdiff::text
