// Exact BP as a TokenDenoiser: the leaf marginals of denoise(), the oracle a
// trained denoiser is measured against and the check that the measuring code
// reproduces `hdiff phase` when the "network" is exact.

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "bp/denoise.h"
#include "common/error.h"
#include "denoiser/chains.h"
#include "denoiser/token_denoiser.h"

namespace hdiff {
namespace {

// Writes log p(x₀_i | x_t) of `count` strings (tokens, noise level shared) into `out`.
void leaf_log_marginals(const Grammar& grammar, Channel channel, double noise, std::span<const uint32_t> tokens,
                        int64_t count, std::span<double> out) {
  const auto& p = grammar.params;
  DenoiseRequest request;
  request.noise = {channel, noise};
  request.marginals = true;
  const DenoiseResult result = denoise(grammar, Observations{count, tokens, {}}, request);
  const auto& leaves = result.marginals[static_cast<size_t>(p.L)];
  // The batch path's marginals are float32 sums (relative error ~1e-7): each
  // row is renormalised in double, so a certain token has log-probability 0 exactly.
  const auto v = static_cast<size_t>(p.v);
  for (size_t row = 0; row < tokens.size(); ++row) {
    double total = 0;
    for (size_t a = 0; a < v; ++a) total += leaves[row * v + a];
    for (size_t a = 0; a < v; ++a) {
      const double marginal = leaves[row * v + a] / total;
      out[row * v + a] = marginal > 0 ? std::log(marginal) : -std::numeric_limits<double>::infinity();
    }
  }
  if (channel != Channel::mask) return;
  // An unmasked token is known: its row is exactly the observed token.
  for (size_t k = 0; k < tokens.size(); ++k) {
    if (tokens[k] == mask_token(p.v)) continue;
    std::fill_n(out.begin() + static_cast<std::ptrdiff_t>(k * v), v, -std::numeric_limits<double>::infinity());
    out[k * v + tokens[k]] = 0.0;
  }
}

}  // namespace

TokenDenoiser bp_token_denoiser(const Grammar& grammar) {
  return [grammar](const NoisyTokens& batch, std::span<double> log_probabilities) {
    const auto& p = grammar.params;
    check_noisy_tokens(batch, p, log_probabilities.size());
    const int64_t d = batch.length;
    const auto row = static_cast<size_t>(d * p.v);
    if (batch.count == 0) return;
    if (batch.channel == Channel::mask) {
      // The mask channel's leaf likelihoods do not depend on ε: one call for all.
      leaf_log_marginals(grammar, batch.channel, 0.5, batch.tokens, batch.count, log_probabilities);
      return;
    }
    // Uniform: one call per distinct noise level, strings gathered in index order.
    std::vector<int64_t> order(static_cast<size_t>(batch.count));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return batch.noise[static_cast<size_t>(a)] < batch.noise[static_cast<size_t>(b)];
    });
    std::vector<uint32_t> tokens;
    std::vector<double> out;
    for (size_t first = 0; first < order.size();) {
      const double level = batch.noise[static_cast<size_t>(order[first])];
      size_t last = first;
      while (last < order.size() && batch.noise[static_cast<size_t>(order[last])] == level) ++last;
      const auto count = static_cast<int64_t>(last - first);
      tokens.resize(static_cast<size_t>(count * d));
      out.resize(static_cast<size_t>(count) * row);
      for (int64_t g = 0; g < count; ++g) {
        const auto n = static_cast<size_t>(order[first + static_cast<size_t>(g)]);
        std::copy_n(batch.tokens.begin() + static_cast<std::ptrdiff_t>(n * static_cast<size_t>(d)), d,
                    tokens.begin() + g * d);
      }
      leaf_log_marginals(grammar, batch.channel, level, tokens, count, out);
      for (int64_t g = 0; g < count; ++g) {
        const auto n = static_cast<size_t>(order[first + static_cast<size_t>(g)]);
        std::copy_n(out.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(g) * row), row,
                    log_probabilities.begin() + static_cast<std::ptrdiff_t>(n * row));
      }
      first = last;
    }
  };
}

}  // namespace hdiff
