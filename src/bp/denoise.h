#pragma once
// Exact denoising of a batch of noisy observations: marginals of every level,
// log-evidence, posterior samples and MAP strings, in parallel over samples.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "grammar/grammar.h"
#include "noise/channel.h"

namespace hdiff {

// The arithmetic of exact BP: the float32 SIMD batch path (batch_bp.h: marginals
// to about 1e-5 relative, fast) or the double reference path
// (belief_propagation.h: exact to double rounding, several times slower).
enum class Precision { float32, float64 };

// "float" or "double" (the names of --precision and the configs).
const char* precision_name(Precision precision);
// The precision named `name`; Error listing the names otherwise.
Precision parse_precision(const std::string& name);

// What to compute for a batch.
struct DenoiseRequest {
  NoiseSpec noise;
  Precision precision = Precision::float32;
  bool marginals = true;        // marginals of every level
  int posterior_samples = 0;    // K exact posterior draws of the string per observation
  bool map = false;             // the MAP string per observation
  uint64_t seed = 0;            // seed of the posterior draws
};

// Results for N observations.
struct DenoiseResult {
  int64_t count = 0;
  std::vector<std::vector<double>> marginals;  // per level ℓ: N × s^ℓ × n_ℓ
  std::vector<double> log_evidence;            // N
  std::vector<uint32_t> posterior_tokens;      // N × K × d
  std::vector<uint32_t> map_tokens;            // N × d
};

// Observations: discrete tokens N × d (uniform, mask; v = MASK), or gaussian
// values N × d × v. Exactly one of the two spans is used, by the channel.
struct Observations {
  int64_t count = 0;
  std::span<const uint32_t> tokens;
  std::span<const double> values;
};

// Checks the request's noise and number of posterior samples; Error naming the fix.
void validate(const DenoiseRequest& request);

// The largest observed token the channel accepts: v - 1, or v (MASK) for mask.
uint64_t max_observed_token(const GrammarParams& params, Channel channel);

// Checks the shape of an observation array named `what`: N × d integer tokens, or
// N × d × v floats for gaussian, with N ≥ 1; Error naming the expected shape.
void check_observation_shape(const GrammarParams& params, Channel channel, const std::vector<int64_t>& shape,
                             const std::string& what);

// Fills the leaf likelihoods of observation n into `leaves` and returns the
// sum of the logs of their normalisers.
double observation_likelihoods(const NoiseSpec& noise, int v, const Observations& observations, int64_t n, int64_t d,
                               std::span<double> leaves);

// Denoises every observation exactly. Errors (impossible evidence, bad tokens)
// name the observation; the same error is reported for any thread count.
DenoiseResult denoise(const Grammar& grammar, const Observations& observations, const DenoiseRequest& request);

// Bytes the result of `denoise` will take, for a memory check before the work.
double denoise_result_bytes(const GrammarParams& params, int64_t count, const DenoiseRequest& request);

}  // namespace hdiff
