// Forward–backward on text and its correlated changes (text_changes.h).

#include "text/text_changes.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/random.h"

namespace hdiff::text {
namespace {

// Strings per denoiser call: at most 2^24 output values.
int64_t call_size(int64_t d, int v) { return std::clamp<int64_t>((int64_t{1} << 24) / (d * v), 1, 4096); }

// Calls the denoiser on `count` strings and checks each row it returns.
void denoise(const TokenDenoiser& denoiser, int v, int64_t d, std::span<const uint32_t> tokens,
             std::span<const double> noise, std::span<double> out) {
  const auto count = static_cast<int64_t>(noise.size());
  denoiser(NoisyTokens{Channel::mask, v, count, d, tokens, noise}, out);
  for (int64_t row = 0; row < count * d; ++row) {
    double total = 0;
    for (int a = 0; a < v; ++a) {
      const double value = out[static_cast<size_t>(row * v + a)];
      if (std::isnan(value) || value == INFINITY)
        fail("the denoiser returned log-probability {} for sequence {}, position {}", value, row / d, row % d);
      total += std::exp(value);
    }
    if (!(std::abs(total - 1.0) <= 1e-4))
      fail("the denoiser's probabilities for sequence {}, position {} sum to {}, not 1", row / d, row % d, total);
  }
}

uint32_t draw(std::span<const double> log_row, RandomStream& random) {
  double total = 0;
  for (double x : log_row) total += std::exp(x);
  const double target = random.uniform() * total;
  double cumulative = 0;
  uint32_t last = 0;
  for (size_t a = 0; a < log_row.size(); ++a) {
    const double p = std::exp(log_row[a]);
    if (p <= 0) continue;
    last = static_cast<uint32_t>(a);
    cumulative += p;
    if (target < cumulative) return last;
  }
  return last;  // rounding: the last possible token
}

}  // namespace

void validate(const TextChangesConfig& config) {
  if (config.noise.empty() || config.noise.size() > 10000)
    fail("give 1 to 10000 noise levels (got {})", config.noise.size());
  for (double t : config.noise)
    if (!(t >= 0 && t <= 1)) fail("noise level {} must lie in [0, 1]", t);
  if (config.trajectories < 2 || config.trajectories > 1000)
    fail("trajectories = {} must lie in [2, 1000]: the correlations are covariances over a sequence's trajectories",
         config.trajectories);
  if (config.window < 1 || config.window > (1 << 20)) fail("window = {} must lie in [1, 2^20]", config.window);
  if (config.max_distance < 1 || config.max_distance > (1 << 20))
    fail("max_distance = {} must lie in [1, 2^20]", config.max_distance);
}

std::vector<std::optional<Estimate>> change_correlation(std::span<const uint8_t> changed, int64_t sequences,
                                                        int trajectories, int64_t d, int max_distance) {
  HDIFF_CHECK(trajectories >= 2 && d >= 1);
  HDIFF_CHECK(static_cast<int64_t>(changed.size()) == sequences * trajectories * d);
  const int64_t reach = std::min<int64_t>(max_distance, d - 1);
  std::vector<std::vector<double>> per_sequence(static_cast<size_t>(reach + 1),
                                                std::vector<double>(static_cast<size_t>(sequences), 0.0));
  std::vector<double> mean(static_cast<size_t>(d)), centred(static_cast<size_t>(d));
  const auto T = static_cast<int64_t>(trajectories);
  for (int64_t k = 0; k < sequences; ++k) {
    const uint8_t* cluster = changed.data() + k * T * d;
    std::fill(mean.begin(), mean.end(), 0.0);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < d; ++i) mean[static_cast<size_t>(i)] += cluster[t * d + i];
    for (double& m : mean) m /= static_cast<double>(T);
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t i = 0; i < d; ++i) centred[static_cast<size_t>(i)] = cluster[t * d + i] - mean[static_cast<size_t>(i)];
      for (int64_t r = 0; r <= reach; ++r) {
        double sum = 0;
        for (int64_t i = 0; i + r < d; ++i) sum += centred[static_cast<size_t>(i)] * centred[static_cast<size_t>(i + r)];
        per_sequence[static_cast<size_t>(r)][static_cast<size_t>(k)] +=
            4 * sum / static_cast<double>(d - r) / static_cast<double>(T - 1);
      }
    }
  }
  std::vector<std::optional<Estimate>> out;
  for (const auto& values : per_sequence) out.push_back(estimate_mean(values));
  out.resize(static_cast<size_t>(max_distance) + 1);  // beyond d − 1: undefined
  return out;
}

std::optional<double> correlation_length(const std::vector<std::optional<Estimate>>& correlation) {
  if (correlation.empty() || !correlation[0] || !(correlation[0]->mean > 0)) return std::nullopt;
  const double c0 = correlation[0]->mean;
  const double threshold = std::exp(-1.0);
  for (size_t r = 1; r < correlation.size() && correlation[r]; ++r) {
    const double now = correlation[r]->mean / c0;
    if (now > threshold) continue;
    const double before = correlation[r - 1]->mean / c0;
    return static_cast<double>(r - 1) + (before - threshold) / (before - now);
  }
  return std::nullopt;
}

TextChangesResult text_changes(const TokenDenoiser& denoiser, int v, int64_t d, std::span<const uint32_t> clean,
                               const TextChangesConfig& config, const std::function<void(int64_t)>& on_progress) {
  validate(config);
  HDIFF_CHECK(d >= 1 && v >= 1);
  const auto sequences = static_cast<int64_t>(clean.size()) / d;
  if (sequences < 1 || sequences * d != static_cast<int64_t>(clean.size()))
    fail("the experiment needs at least one sequence of {} tokens", d);
  for (uint32_t token : clean)
    if (token >= static_cast<uint32_t>(v)) fail("clean token {} is out of range [0, {})", token, v);
  const auto T = static_cast<int64_t>(config.trajectories);
  const int64_t items = sequences * T;
  const auto mask = static_cast<uint32_t>(v);
  const int64_t chunk = call_size(d, v);
  TextChangesResult result;
  int64_t done = 0;
  std::vector<uint32_t> tokens(static_cast<size_t>(items * d));
  std::vector<uint8_t> changed(tokens.size());
  std::vector<int64_t> masked_count(static_cast<size_t>(items));
  std::vector<RandomStream> randoms;
  std::vector<uint32_t> batch;
  std::vector<double> noise, log_p;
  std::vector<int64_t> active, positions;
  for (size_t j = 0; j < config.noise.size(); ++j) {
    const double t = config.noise[j];
    randoms.clear();
    for (int64_t n = 0; n < sequences; ++n)
      for (int64_t r = 0; r < T; ++r) {
        const int64_t item = n * T + r;
        const uint64_t sub = static_cast<uint64_t>(j) | (static_cast<uint64_t>(r) << 32);
        RandomStream masking(config.seed, RandomDomain::noise, static_cast<uint64_t>(n), sub);
        int64_t count = 0;
        for (int64_t i = 0; i < d; ++i) {
          const bool masked = masking.uniform() < t;
          tokens[static_cast<size_t>(item * d + i)] = masked ? mask : clean[static_cast<size_t>(n * d + i)];
          count += masked;
        }
        masked_count[static_cast<size_t>(item)] = count;
        randoms.emplace_back(config.seed, RandomDomain::experiment, static_cast<uint64_t>(n), sub);
      }
    std::vector<uint32_t> first_masked(static_cast<size_t>(sequences * d));
    for (int64_t n = 0; n < sequences; ++n)
      std::copy_n(tokens.begin() + n * T * d, d, first_masked.begin() + n * d);
    // Unmask one position per string and call, all active strings together.
    for (;;) {
      active.clear();
      for (int64_t item = 0; item < items; ++item)
        if (masked_count[static_cast<size_t>(item)] > 0) active.push_back(item);
      if (active.empty()) break;
      for (size_t first = 0; first < active.size(); first += static_cast<size_t>(chunk)) {
        const size_t n = std::min(active.size() - first, static_cast<size_t>(chunk));
        batch.resize(n * static_cast<size_t>(d));
        noise.resize(n);
        for (size_t k = 0; k < n; ++k) {
          const int64_t item = active[first + k];
          std::copy_n(tokens.begin() + item * d, d, batch.begin() + static_cast<int64_t>(k) * d);
          noise[k] = static_cast<double>(masked_count[static_cast<size_t>(item)]) / static_cast<double>(d);
        }
        log_p.resize(n * static_cast<size_t>(d * v));
        denoise(denoiser, v, d, batch, noise, log_p);
        for (size_t k = 0; k < n; ++k) {
          const int64_t item = active[first + k];
          RandomStream& random = randoms[static_cast<size_t>(item)];
          positions.clear();
          for (int64_t i = 0; i < d; ++i)
            if (tokens[static_cast<size_t>(item * d + i)] == mask) positions.push_back(i);
          const int64_t i = positions[random.below(positions.size())];
          const auto row = std::span<const double>(log_p).subspan((k * static_cast<size_t>(d) + static_cast<size_t>(i)) *
                                                                      static_cast<size_t>(v),
                                                                  static_cast<size_t>(v));
          tokens[static_cast<size_t>(item * d + i)] = draw(row, random);
          --masked_count[static_cast<size_t>(item)];
        }
      }
    }
    for (int64_t item = 0; item < items; ++item)
      for (int64_t i = 0; i < d; ++i)
        changed[static_cast<size_t>(item * d + i)] =
            tokens[static_cast<size_t>(item * d + i)] != clean[static_cast<size_t>((item / T) * d + i)];
    TextChangesRow row;
    row.noise = t;
    const ChangeTerms terms = change_terms(changed, sequences, config.trajectories, static_cast<int>(d), 1,
                                           config.window);
    row.changes = combine_changes({&terms});
    row.correlation = change_correlation(changed, sequences, config.trajectories, d, config.max_distance);
    row.correlation_length = correlation_length(row.correlation);
    result.rows.push_back(std::move(row));
    std::vector<uint32_t> first_denoised(static_cast<size_t>(sequences * d));
    for (int64_t n = 0; n < sequences; ++n) std::copy_n(tokens.begin() + n * T * d, d, first_denoised.begin() + n * d);
    result.masked.push_back(std::move(first_masked));
    result.denoised.push_back(std::move(first_denoised));
    done += items;
    if (on_progress) on_progress(done);
  }
  return result;
}

}  // namespace hdiff::text
