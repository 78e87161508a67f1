#pragma once
// Forward noise channels acting on every leaf token independently (SPEC §2), and
// the leaf likelihoods p(obs_i | x_i = a) they imply for belief propagation.
// Guarantees: every draw comes from the counter-based stream of (seed, item), so
// a noised sample does not depend on threads or batch sizes; noise levels outside
// a channel's range are refused by validate().

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/random.h"

namespace hdiff {

// The forward noise processes. `soft` is the papers' ε-process: every token is
// kept and only its evidence softens, so the observation is the clean string
// and the leaf likelihood is that of `uniform`, (1-ε)[o = a] + ε/v.
enum class Channel { uniform, mask, gaussian, soft };

// "uniform" | "mask" | "gaussian" | "soft" → Channel; other names are an Error listing the choices.
Channel parse_channel(const std::string& name);
// The channel's name as written in configs and CSV files.
std::string channel_name(Channel channel);

// A channel at one noise level: ε for uniform, mask and soft, ᾱ for gaussian.
struct NoiseSpec {
  Channel channel = Channel::uniform;
  double level = 0.0;
};

// Checks that the level is finite and in [0, 1] (ᾱ < 1 for gaussian); Error otherwise.
void validate(const NoiseSpec& noise);

// The observed symbol of a masked token for a vocabulary of size v.
inline uint32_t mask_token(int v) { return static_cast<uint32_t>(v); }

// Applies a discrete channel (uniform, mask or soft) to `clean` tokens; soft copies
// them and draws nothing from `random`.
void corrupt_tokens(const NoiseSpec& noise, int v, std::span<const uint32_t> clean, RandomStream& random,
                    std::span<uint32_t> observed);

// Applies the gaussian channel: observed[i·v + a] = √ᾱ·[clean_i = a] + √(1-ᾱ)·ξ.
void corrupt_gaussian(const NoiseSpec& noise, int v, std::span<const uint32_t> clean, RandomStream& random,
                      std::span<double> observed);

// Noised strings of a batch: `tokens` (count × d; mask: v means MASK; soft: the
// clean tokens) for the discrete channels, `values` (count × d × v) for gaussian.
struct CorruptedBatch {
  std::vector<uint32_t> tokens;
  std::vector<double> values;
};

// Applies a channel to `clean` (count × d tokens in [0, v)). Row n draws from the
// stream (seed, noise domain, n, 0), the one `hdiff phase` uses for sample n at
// its first noise point, so `hdiff corrupt` and hdiff.corrupt, which both call
// this, give the same bits, and a row does not depend on the others.
CorruptedBatch corrupt_batch(const NoiseSpec& noise, int v, int64_t d, std::span<const uint32_t> clean, uint64_t seed);

// Leaf likelihoods of discrete observations, each leaf's v values normalised to
// sum 1; returns the sum of the logs of the normalisers, so that the likelihoods
// as SPEC §2 writes them are out·exp(returned value). Tokens out of range are an Error.
double token_likelihoods(const NoiseSpec& noise, int v, std::span<const uint32_t> observed, std::span<double> out);

// Leaf likelihoods exp(√ᾱ/(1-ᾱ)·x[a]) of gaussian observations (d×v values),
// normalised per leaf; returns the sum of the logs of the normalisers.
double gaussian_likelihoods(const NoiseSpec& noise, int v, std::span<const double> observed, std::span<double> out);

}  // namespace hdiff
