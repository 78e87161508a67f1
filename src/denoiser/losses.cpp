// The cross-entropy of a denoiser against the Bayes-optimal floor, and the KL
// between their token marginals, on noised clean strings.

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "common/memory.h"
#include "common/parallel.h"
#include "denoiser/chains.h"
#include "denoiser/measure.h"

namespace hdiff {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// One string's sums over its noised tokens.
struct StringLoss {
  double net = 0, bayes = 0, kl = 0, top = 0;
  int64_t tokens = 0;
};

// Log-probabilities of BP's most likely tokens differ by rounding at most (BP's
// float32 batch path, renormalised in double).
constexpr double kTieTolerance = 1e-5;

// The most likely token of a row (the smallest on ties).
size_t top_token(std::span<const double> row) {
  return static_cast<size_t>(std::max_element(row.begin(), row.end()) - row.begin());
}

// Mean and standard error over strings; +infinity (both) when a value is infinite.
Estimate mean_of(const std::vector<double>& values) {
  if (values.empty()) return {};
  if (std::any_of(values.begin(), values.end(), [](double x) { return std::isinf(x); })) return {kInfinity, kInfinity};
  return estimate_mean(values);
}

}  // namespace

std::vector<LossRow> compare_losses(const Grammar& grammar, const TokenDenoiser& denoiser, Channel channel,
                                    std::span<const double> noise, std::span<const uint32_t> clean, uint64_t seed) {
  const auto& p = grammar.params;
  if (channel != Channel::mask && channel != Channel::uniform)
    fail("channel {} cannot be measured with a token denoiser; choose mask or uniform", channel_name(channel));
  const int64_t d = sequence_length(p);
  if (clean.empty() || clean.size() % static_cast<size_t>(d) != 0)
    fail("the clean strings hold {} tokens, not a positive multiple of d = {}", clean.size(), d);
  for (size_t k = 0; k < clean.size(); ++k)
    if (clean[k] >= static_cast<uint32_t>(p.v))
      fail("clean string {}: token {} at position {} is out of range [0, {}]", k / static_cast<size_t>(d), clean[k],
           k % static_cast<size_t>(d), p.v - 1);
  for (double level : noise)
    if (!(level >= 0 && level <= 1)) fail("noise level {} must lie in [0, 1]", level);
  const auto count = static_cast<int64_t>(clean.size()) / d;
  const auto v = static_cast<size_t>(p.v);
  const int64_t chunk = std::min(count, denoiser_batch_strings(d, p.v));
  check_memory(16.0 * static_cast<double>(chunk * d) * static_cast<double>(v) + 40.0 * static_cast<double>(count),
               "the loss comparison", "compare fewer or shorter strings");
  const TokenDenoiser bayes = bp_token_denoiser(grammar);

  std::vector<LossRow> rows;
  std::vector<uint32_t> observed;
  std::vector<double> levels, net_rows, bp_rows;
  std::vector<StringLoss> losses(static_cast<size_t>(count));
  for (size_t j = 0; j < noise.size(); ++j) {
    const NoiseSpec spec{channel, noise[j]};
    for (int64_t first = 0; first < count; first += chunk) {
      const int64_t size = std::min(count - first, chunk);
      observed.resize(static_cast<size_t>(size * d));
      levels.assign(static_cast<size_t>(size), noise[j]);
      net_rows.resize(static_cast<size_t>(size * d) * v);
      bp_rows.resize(net_rows.size());
      parallel_for(size, [&](int64_t b) {
        RandomStream random(seed, RandomDomain::noise, static_cast<uint64_t>(first + b), j);
        corrupt_tokens(spec, p.v, clean.subspan(static_cast<size_t>((first + b) * d), static_cast<size_t>(d)), random,
                       std::span<uint32_t>(observed).subspan(static_cast<size_t>(b * d), static_cast<size_t>(d)));
      });
      call_denoiser(denoiser, channel, p, observed, levels, net_rows);
      call_denoiser(bayes, channel, p, observed, levels, bp_rows);
      parallel_for(size, [&](int64_t b) {
        StringLoss loss;
        for (int64_t i = 0; i < d; ++i) {
          const auto k = static_cast<size_t>(b * d + i);
          if (channel == Channel::mask && observed[k] != mask_token(p.v)) continue;
          const std::span<const double> net(net_rows.data() + k * v, v), bp(bp_rows.data() + k * v, v);
          const uint32_t truth = clean[static_cast<size_t>(first * d) + k];
          loss.net -= net[truth];
          loss.bayes -= bp[truth];
          for (size_t a = 0; a < v; ++a)
            if (bp[a] > -kInfinity) loss.kl += std::exp(bp[a]) * (bp[a] - net[a]);  // 0·log 0 = 0
          // BP's rows often tie exactly (m productions equally likely given the
          // siblings); a network's never do: it agrees when its most likely token
          // is one of BP's most likely ones.
          loss.top += bp[top_token(net)] >= bp[top_token(bp)] - kTieTolerance;
          ++loss.tokens;
        }
        losses[static_cast<size_t>(first + b)] = loss;
      });
    }
    LossRow row;
    row.noise = noise[j];
    std::vector<double> net, bayes_loss, kl, top;
    for (const auto& loss : losses) {
      if (loss.tokens == 0) continue;
      const auto tokens = static_cast<double>(loss.tokens);
      net.push_back(loss.net / tokens);
      bayes_loss.push_back(loss.bayes / tokens);
      // A KL term is ≥ 0 exactly but its rounding can dip below; 0 is its floor.
      kl.push_back(std::max(0.0, loss.kl / tokens));
      top.push_back(loss.top / tokens);
      row.noised_tokens += loss.tokens;
    }
    row.loss_net = mean_of(net);
    row.loss_bayes = mean_of(bayes_loss);
    row.kl = mean_of(kl);
    row.top_agreement = mean_of(top);
    rows.push_back(row);
  }
  return rows;
}

}  // namespace hdiff
