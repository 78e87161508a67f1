#pragma once
// The one interface between hdiff's exact measurements and a denoiser of
// discrete tokens that hdiff did not compute itself: a trained network (src/nets,
// LibTorch), a user's Python function (python/), or exact BP plugged in as the
// "network" (the oracle, bp_token_denoiser below). Everything that measures a
// denoiser against exact BP (forward–backward, generation from pure noise,
// losses, KL) takes a TokenDenoiser, so it is the same code for all three.
// Plain C++: no LibTorch.
//
// Noise levels are hdiff's channel levels (docs/networks.md):
// - `mask`: masked diffusion with α_t = 1 − t; a token is MASK (= v) with
//   probability ε = t.
// - `uniform`: uniform discrete diffusion (D3PM) with ᾱ_k = Π_{j≤k}(1 − β_j); a
//   token is redrawn uniformly from [v] with probability ε = 1 − ᾱ_k.

#include <cstdint>
#include <functional>
#include <span>

#include "grammar/grammar.h"
#include "noise/channel.h"

namespace hdiff {

// A batch of noisy strings handed to a denoiser.
struct NoisyTokens {
  Channel channel = Channel::mask;  // mask or uniform
  int v = 0;                        // vocabulary of the tokens (MASK = v under mask)
  int64_t count = 0;                // N strings
  int64_t length = 0;               // d tokens per string
  std::span<const uint32_t> tokens; // N × d observed tokens
  std::span<const double> noise;    // N noise levels ε, one per string
};

// A denoiser: writes log p(x₀_i = a | x_t) for every string n, position i and
// token a into `log_probabilities` (N × d × v, row-major), each (n, i) row a
// normalised distribution (log-sum-exp 0; −infinity for impossible tokens).
// Under `mask` an unmasked position's row must put all its mass on the observed
// token. It is called from one thread at a time; an implementation may use
// threads inside. It throws hdiff::Error (or any std::exception) to stop the caller.
using TokenDenoiser = std::function<void(const NoisyTokens& batch, std::span<double> log_probabilities)>;

// Exact BP as a TokenDenoiser for `grammar` (the oracle): the token marginals of
// denoise() at each string's own noise level (BP's float32 batch path, each row
// renormalised in double; under mask an unmasked row is exactly its token). It
// holds its own copy of the grammar. An impossible observation is an Error.
TokenDenoiser bp_token_denoiser(const Grammar& grammar);

}  // namespace hdiff
