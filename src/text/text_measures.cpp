// The MDLM bound in bits per token (text_measures.h).

#include "text/text_measures.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "common/error.h"
#include "common/random.h"

namespace hdiff::text {

Estimate masked_bits_per_token(const TokenDenoiser& denoiser, int v, int64_t d, std::span<const uint32_t> sequences,
                               uint64_t seed, int levels) {
  HDIFF_CHECK(d > 0 && v > 0 && levels > 0);
  const auto count = static_cast<int64_t>(sequences.size()) / d;
  HDIFF_CHECK(count * d == static_cast<int64_t>(sequences.size()));
  std::vector<double> per_sequence(static_cast<size_t>(count), 0.0);
  // One call per level and chunk of sequences, at most 2^24 values of output.
  const int64_t chunk = std::clamp<int64_t>((int64_t{1} << 24) / (d * v), 1, 4096);
  std::vector<uint32_t> noisy;
  std::vector<double> noise, log_p;
  for (int k = 0; k < levels; ++k) {
    const double t = (k + 0.5) / levels;
    for (int64_t first = 0; first < count; first += chunk) {
      const int64_t n = std::min(chunk, count - first);
      noisy.assign(sequences.begin() + first * d, sequences.begin() + (first + n) * d);
      for (int64_t s = 0; s < n; ++s) {
        RandomStream random(seed, RandomDomain::noise, static_cast<uint64_t>(first + s), static_cast<uint64_t>(k));
        for (int64_t i = 0; i < d; ++i)
          if (random.uniform() < t) noisy[static_cast<size_t>(s * d + i)] = static_cast<uint32_t>(v);
      }
      noise.assign(static_cast<size_t>(n), t);
      log_p.assign(static_cast<size_t>(n * d * v), 0.0);
      denoiser(NoisyTokens{Channel::mask, v, n, d, noisy, noise}, log_p);
      for (int64_t s = 0; s < n; ++s) {
        double nats = 0;
        for (int64_t i = 0; i < d; ++i) {
          const auto at = static_cast<size_t>(s * d + i);
          if (noisy[at] != static_cast<uint32_t>(v)) continue;
          const double value = log_p[at * static_cast<size_t>(v) + sequences[static_cast<size_t>(first * d) + at]];
          if (std::isnan(value) || value > 1e-9) fail("the denoiser returned log-probability {} at sequence {}", value, first + s);
          nats -= value;
        }
        per_sequence[static_cast<size_t>(first + s)] += nats / (t * static_cast<double>(d)) / std::numbers::ln2 / levels;
      }
    }
  }
  return estimate_mean(per_sequence);
}

}  // namespace hdiff::text
