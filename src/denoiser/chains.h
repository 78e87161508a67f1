#pragma once
// Internal to src/denoiser: calling a TokenDenoiser on a batch with checks, and
// the two samplers that run a denoiser from noisy strings to clean ones (the
// masked unmasking chain and the uniform ancestral chain), shared by generate()
// and denoiser_phase(). Every string draws from its own RandomStream, so the
// strings do not depend on how they are batched or on the thread count.

#include <cstdint>
#include <span>
#include <vector>

#include "common/random.h"
#include "denoiser/measure.h"
#include "denoiser/token_denoiser.h"

namespace hdiff {

// Checks a batch against the grammar: channel mask or uniform, v and d those of
// `params`, span sizes N·d, N and N·d·v (`output_size`), tokens in range, noise
// levels finite in [0, 1]. Error naming what does not fit.
void check_noisy_tokens(const NoisyTokens& batch, const GrammarParams& params, size_t output_size);

// Calls `denoiser` on `count` strings and checks what it wrote: every row
// finite or −infinity, its probabilities summing to 1 within 1e-4 (Error naming
// the string and position otherwise, so a broken network stops with one line).
void call_denoiser(const TokenDenoiser& denoiser, Channel channel, const GrammarParams& params,
                   std::span<const uint32_t> tokens, std::span<const double> noise, std::span<double> log_probabilities);

// Draws a token from a row of log-probabilities (normalised within rounding).
uint32_t draw_from_log_row(std::span<const double> log_row, RandomStream& random);

// Masked chain: while a string of `tokens` (N × d, modified in place) has MASK
// tokens, the denoiser is called on all such strings (batches of
// denoiser_batch_strings) at noise (masked positions)/d, and each string
// unmasks one of its masked positions, chosen uniformly, with a token drawn
// from that position's row. randoms holds one stream per string.
void unmask_chain(const TokenDenoiser& denoiser, const GrammarParams& params, std::span<uint32_t> tokens,
                  std::span<RandomStream> randoms);

// Uniform ancestral chain from x_k (`tokens`, N × d, at step `start_step`) down
// to x₀ in place: at each step k the denoiser predicts x₀ at noise ε_k and every
// token draws x_{k−1} from uniform_reverse_step. start_step = 0 does nothing.
void ancestral_chain(const TokenDenoiser& denoiser, const GrammarParams& params, const UniformSchedule& schedule,
                     int start_step, std::span<uint32_t> tokens, std::span<RandomStream> randoms);

}  // namespace hdiff
