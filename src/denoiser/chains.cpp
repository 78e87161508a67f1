// Calling a denoiser with checks, and the masked and uniform samplers.

#include "denoiser/chains.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/parallel.h"

namespace hdiff {
namespace {

// Token-symbol pairs of one reverse step below which it runs on one thread.
constexpr int64_t kParallelWork = int64_t{1} << 20;

}  // namespace

int64_t denoiser_batch_strings(int64_t d, int v) {
  constexpr int64_t kMaxStrings = 4096;
  constexpr int64_t kMaxValues = int64_t{1} << 24;  // 128 MiB of doubles
  return std::clamp<int64_t>(kMaxValues / std::max<int64_t>(1, d * v), 1, kMaxStrings);
}

void check_noisy_tokens(const NoisyTokens& batch, const GrammarParams& params, size_t output_size) {
  if (batch.channel != Channel::mask && batch.channel != Channel::uniform)
    fail("channel {} cannot be measured with a token denoiser; choose mask or uniform", channel_name(batch.channel));
  const int64_t d = sequence_length(params);
  if (batch.v != params.v || batch.length != d)
    fail("a batch of strings of {} tokens over {} symbols does not fit the grammar (d = {}, v = {})", batch.length,
         batch.v, d, params.v);
  if (batch.count < 0 || batch.tokens.size() != static_cast<size_t>(batch.count * d) ||
      batch.noise.size() != static_cast<size_t>(batch.count) ||
      output_size != static_cast<size_t>(batch.count * d * params.v))
    fail("a batch of {} strings needs {} tokens, {} noise levels and room for {} values (got {}, {}, {})", batch.count,
         batch.count * d, batch.count, batch.count * d * params.v, batch.tokens.size(), batch.noise.size(), output_size);
  const uint32_t largest = batch.channel == Channel::mask ? mask_token(params.v) : static_cast<uint32_t>(params.v - 1);
  for (size_t k = 0; k < batch.tokens.size(); ++k)
    if (batch.tokens[k] > largest)
      fail("string {}: token {} at position {} is out of range [0, {}]", k / static_cast<size_t>(d), batch.tokens[k],
           k % static_cast<size_t>(d), largest);
  for (size_t n = 0; n < batch.noise.size(); ++n)
    if (!(batch.noise[n] >= 0 && batch.noise[n] <= 1)) fail("string {}: noise level {} must lie in [0, 1]", n, batch.noise[n]);
}

void call_denoiser(const TokenDenoiser& denoiser, Channel channel, const GrammarParams& params,
                   std::span<const uint32_t> tokens, std::span<const double> noise, std::span<double> log_probabilities) {
  const int64_t d = sequence_length(params);
  const auto count = static_cast<int64_t>(noise.size());
  const NoisyTokens batch{channel, params.v, count, d, tokens, noise};
  std::fill(log_probabilities.begin(), log_probabilities.end(), std::nan(""));
  denoiser(batch, log_probabilities);
  const auto v = static_cast<size_t>(params.v);
  for (size_t row = 0; row < static_cast<size_t>(count * d); ++row) {
    double total = 0;
    for (size_t a = 0; a < v; ++a) {
      const double value = log_probabilities[row * v + a];
      if (std::isnan(value) || value == INFINITY)
        fail("the denoiser returned log-probability {} for string {}, position {}, token {}; every value must be finite "
             "or -infinity", value, row / static_cast<size_t>(d), row % static_cast<size_t>(d), a);
      total += std::exp(value);
    }
    if (!(std::abs(total - 1.0) <= 1e-4))
      fail("the denoiser's probabilities for string {}, position {} sum to {}, not 1", row / static_cast<size_t>(d),
           row % static_cast<size_t>(d), total);
  }
}

uint32_t draw_from_log_row(std::span<const double> log_row, RandomStream& random) {
  double total = 0;
  for (double value : log_row) total += std::exp(value);
  const double target = random.uniform() * total;
  double cumulative = 0;
  uint32_t last_possible = 0;
  for (size_t a = 0; a < log_row.size(); ++a) {
    const double p = std::exp(log_row[a]);
    if (p <= 0) continue;
    last_possible = static_cast<uint32_t>(a);
    cumulative += p;
    if (target < cumulative) return last_possible;
  }
  return last_possible;  // rounding left the target just above the sum
}

void unmask_chain(const TokenDenoiser& denoiser, const GrammarParams& params, std::span<uint32_t> tokens,
                  std::span<RandomStream> randoms) {
  const int64_t d = sequence_length(params);
  const auto v = static_cast<size_t>(params.v);
  const uint32_t mask = mask_token(params.v);
  const auto count = static_cast<int64_t>(randoms.size());
  const int64_t chunk = denoiser_batch_strings(d, params.v);
  std::vector<int64_t> active;
  std::vector<uint32_t> batch_tokens;
  std::vector<double> noise, log_probabilities;
  while (true) {
    active.clear();
    for (int64_t n = 0; n < count; ++n)
      if (std::find(tokens.begin() + n * d, tokens.begin() + (n + 1) * d, mask) != tokens.begin() + (n + 1) * d)
        active.push_back(n);
    if (active.empty()) return;
    for (size_t first = 0; first < active.size(); first += static_cast<size_t>(chunk)) {
      const size_t size = std::min(active.size() - first, static_cast<size_t>(chunk));
      batch_tokens.resize(size * static_cast<size_t>(d));
      noise.resize(size);
      log_probabilities.resize(size * static_cast<size_t>(d) * v);
      for (size_t b = 0; b < size; ++b) {
        const auto source = tokens.begin() + active[first + b] * d;
        std::copy(source, source + d, batch_tokens.begin() + static_cast<std::ptrdiff_t>(b) * d);
        noise[b] = static_cast<double>(std::count(source, source + d, mask)) / static_cast<double>(d);
      }
      call_denoiser(denoiser, Channel::mask, params, batch_tokens, noise, log_probabilities);
      // O(d + v) per string: a parallel region would cost more than it saves.
      for (int64_t b = 0; b < static_cast<int64_t>(size); ++b) {
        const int64_t n = active[first + static_cast<size_t>(b)];
        const std::span<uint32_t> string = tokens.subspan(static_cast<size_t>(n * d), static_cast<size_t>(d));
        auto& random = randoms[static_cast<size_t>(n)];
        const auto masked = static_cast<uint64_t>(std::count(string.begin(), string.end(), mask));
        uint64_t pick = random.below(masked);
        size_t position = 0;
        for (; position < string.size(); ++position)
          if (string[position] == mask && pick-- == 0) break;
        const std::span<const double> row(log_probabilities.data() + (static_cast<size_t>(b * d) + position) * v, v);
        string[position] = draw_from_log_row(row, random);
      }
    }
  }
}

void ancestral_chain(const TokenDenoiser& denoiser, const GrammarParams& params, const UniformSchedule& schedule,
                     int start_step, std::span<uint32_t> tokens, std::span<RandomStream> randoms) {
  const int64_t d = sequence_length(params);
  const auto v = static_cast<size_t>(params.v);
  const auto count = static_cast<int64_t>(randoms.size());
  const int64_t chunk = denoiser_batch_strings(d, params.v);
  std::vector<double> noise, log_probabilities;
  for (int k = start_step; k >= 1; --k) {
    const double level = uniform_noise_at(schedule, k);
    for (int64_t first = 0; first < count; first += chunk) {
      const int64_t size = std::min(count - first, chunk);
      noise.assign(static_cast<size_t>(size), level);
      log_probabilities.resize(static_cast<size_t>(size * d) * v);
      const auto batch_tokens = tokens.subspan(static_cast<size_t>(first * d), static_cast<size_t>(size * d));
      call_denoiser(denoiser, Channel::uniform, params, batch_tokens, noise, log_probabilities);
      // Threads only for enough work (O(d·v) per string) to pay for a parallel region.
      const auto reverse_string = [&](std::vector<double>& step, int64_t b) {
            auto& random = randoms[static_cast<size_t>(first + b)];
            for (int64_t i = 0; i < d; ++i) {
              uint32_t& token = batch_tokens[static_cast<size_t>(b * d + i)];
              const std::span<const double> row(log_probabilities.data() + static_cast<size_t>(b * d + i) * v, v);
              uniform_reverse_step(schedule, k, params.v, token, row, step);
              // Drawn from probabilities: log of them would only be exponentiated back.
              const double target = random.uniform();
              double cumulative = 0;
              uint32_t drawn = 0;
              for (size_t c = 0; c < v; ++c) {
                if (step[c] <= 0) continue;
                drawn = static_cast<uint32_t>(c);
                cumulative += step[c];
                if (target < cumulative) break;
              }
              token = drawn;
            }
          };
      if (size * d * static_cast<int64_t>(v) >= kParallelWork) {
        parallel_for_with_state(size, [&] { return std::vector<double>(v); }, reverse_string);
      } else {
        std::vector<double> step(v);
        for (int64_t b = 0; b < size; ++b) reverse_string(step, b);
      }
    }
  }
}

}  // namespace hdiff
