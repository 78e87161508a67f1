#include "experiment/changes.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace hdiff {

Estimate estimate_mean(std::span<const double> values) {
  Estimate out;
  if (values.empty()) return out;
  const auto n = static_cast<double>(values.size());
  for (double x : values) out.mean += x;
  out.mean /= n;
  if (values.size() < 2) return out;
  double squares = 0;
  for (double x : values) squares += (x - out.mean) * (x - out.mean);
  out.standard_error = std::sqrt(squares / (n - 1) / n);
  return out;
}

std::optional<Estimate> ratio_estimate(std::span<const double> numerators, std::span<const double> denominators) {
  double numerator = 0, denominator = 0;
  for (double x : numerators) numerator += x;
  for (double x : denominators) denominator += x;
  if (!(denominator > 0)) return std::nullopt;
  Estimate out{numerator / denominator, 0};
  const size_t clusters = numerators.size();
  if (clusters < 2) return out;
  double squares = 0;
  for (size_t g = 0; g < clusters; ++g) {
    const double residual = numerators[g] - out.mean * denominators[g];
    squares += residual * residual;
  }
  const auto count = static_cast<double>(clusters);
  out.standard_error = std::sqrt(count / (count - 1) * squares) / denominator;
  return out;
}

namespace {

// Σ over nodes of level j of (sum of x over the node's leaves at level ℓ)², for
// j = 0..ℓ: squares[ℓ] = Σ x_i², squares[0] = (Σ x_i)². The sum over ordered pairs
// i ≠ j with lowest common ancestor at level k of x_i·x_j is squares[k] − squares[k+1].
void subtree_squares(std::vector<double>& sums, int s, int level, std::vector<double>& squares) {
  size_t width = sums.size();
  for (int j = level;; --j) {
    double total = 0;
    for (size_t a = 0; a < width; ++a) total += sums[a] * sums[a];
    squares[static_cast<size_t>(j)] = total;
    if (j == 0) break;
    width /= static_cast<size_t>(s);
    for (size_t a = 0; a < width; ++a) {
      double sum = 0;
      for (size_t c = 0; c < static_cast<size_t>(s); ++c) sum += sums[a * static_cast<size_t>(s) + c];
      sums[a] = sum;
    }
  }
}

}  // namespace

namespace {

// Σ_{r = −R…R} of the mean over the n − |r| pairs j − i = r of x_i·x_j.
// One accumulator per distance r, each summed in the order of i (the loop
// over r vectorises; the sums are those of a loop over i per r).
double window_sum(const std::vector<double>& x, size_t reach, std::vector<double>& pairs) {
  const size_t n = x.size();
  pairs.assign(reach + 1, 0.0);
  for (size_t i = 0; i < n; ++i) {
    const size_t last = std::min(reach, n - 1 - i);
    const double xi = x[i];
    for (size_t r = 0; r <= last; ++r) pairs[r] += xi * x[i + r];
  }
  double out = pairs[0] / static_cast<double>(n);
  for (size_t r = 1; r <= reach; ++r) out += 2 * pairs[r] / static_cast<double>(n - r);
  return out;
}

}  // namespace

ChangeTerms change_terms(std::span<const uint8_t> changed, int64_t samples, int trajectories, int s, int level,
                         int window) {
  HDIFF_CHECK(window >= 0);
  ChangeTerms terms;
  size_t n = 1;
  for (int j = 0; j < level; ++j) n *= static_cast<size_t>(s);
  terms.positions = static_cast<double>(n);
  const auto T = static_cast<size_t>(trajectories);
  const auto N = static_cast<size_t>(samples);
  // Counted in integers: exact, and free of the latency chain of a double sum.
  int64_t changes = 0;
  for (uint8_t x : changed) changes += x;
  terms.changed_fraction = changed.empty() ? 0 : static_cast<double>(changes) / static_cast<double>(changed.size());
  if (T == 1 && N < 2) {
    terms.by_lca.resize(static_cast<size_t>(level));
    return terms;
  }

  // Ordered pairs with lowest common ancestor at level k: s^k nodes, each with
  // size² − s·(size/s)² pairs, size = s^(ℓ−k).
  std::vector<double> pairs(static_cast<size_t>(level));
  for (int k = 0; k < level; ++k) {
    const double size = std::pow(static_cast<double>(s), level - k);
    pairs[static_cast<size_t>(k)] = std::pow(static_cast<double>(s), k) * (size * size - size * size / s);
  }

  // Means that centre the patterns: per sample over its trajectories (T > 1), or
  // over all samples (T = 1), so that a cluster's centred products average to the
  // unbiased covariance.
  std::vector<double> mean(n), centred(n), squares(static_cast<size_t>(level) + 1), lag_sums;
  const double scale = T > 1 ? 1.0 / static_cast<double>(T - 1) : static_cast<double>(N) / static_cast<double>(N - 1);
  if (T == 1) {
    for (size_t k = 0; k < N; ++k)
      for (size_t i = 0; i < n; ++i) mean[i] += changed[k * n + i];
    for (double& p : mean) p /= static_cast<double>(N);
  }
  terms.by_lca.assign(static_cast<size_t>(level), std::vector<double>(N, 0.0));
  terms.total.assign(N, 0.0);
  terms.diagonal.assign(N, 0.0);
  terms.window.assign(N, 0.0);
  const size_t reach = std::min(static_cast<size_t>(window), n - 1);
  for (size_t k = 0; k < N; ++k) {
    const uint8_t* cluster = changed.data() + k * T * n;
    if (T > 1) {
      std::fill(mean.begin(), mean.end(), 0.0);
      for (size_t t = 0; t < T; ++t)
        for (size_t i = 0; i < n; ++i) mean[i] += cluster[t * n + i];
      for (double& p : mean) p /= static_cast<double>(T);
    }
    for (size_t t = 0; t < T; ++t) {
      for (size_t i = 0; i < n; ++i) centred[i] = cluster[t * n + i] - mean[i];
      terms.window[k] +=
          window_sum(centred, reach, lag_sums) * scale;  // before subtree_squares sums `centred` in place
      subtree_squares(centred, s, level, squares);
      terms.total[k] += squares[0] * scale;
      terms.diagonal[k] += squares[static_cast<size_t>(level)] * scale;
      for (size_t j = 0; j < static_cast<size_t>(level); ++j)
        terms.by_lca[j][k] += (squares[j] - squares[j + 1]) * scale / pairs[j];
    }
  }
  return terms;
}

namespace {

double mean_of(const std::vector<double>& values) {
  double sum = 0;
  for (double x : values) sum += x;
  return values.empty() ? 0 : sum / static_cast<double>(values.size());
}

}  // namespace

ChangeSummary combine_changes(const std::vector<const ChangeTerms*>& per_grammar) {
  ChangeSummary out;
  if (per_grammar.empty()) return out;
  for (const auto* terms : per_grammar) out.changed_fraction += terms->changed_fraction;
  out.changed_fraction /= static_cast<double>(per_grammar.size());
  const size_t lca_levels = per_grammar.front()->by_lca.size();
  out.by_lca.resize(lca_levels);
  if (per_grammar.front()->total.empty()) return out;  // no covariance (one sample, one trajectory)
  // σ = 2δ − 1: the covariances of σ are 4 times those of δ.
  if (per_grammar.size() == 1) {
    const ChangeTerms& terms = *per_grammar.front();
    out.susceptibility = ratio_estimate(terms.total, terms.diagonal);
    std::vector<double> raw, window;
    for (double x : terms.total) raw.push_back(x * 4 / terms.positions);
    for (double x : terms.window) window.push_back(x * 4);
    out.susceptibility_raw = estimate_mean(raw);
    out.susceptibility_window = estimate_mean(window);
    for (size_t k = 0; k < lca_levels; ++k) out.by_lca[k] = estimate_mean(terms.by_lca[k]);
    return out;
  }
  std::vector<double> total, diagonal, raw, window;
  for (const auto* terms : per_grammar) {
    total.push_back(mean_of(terms->total));
    diagonal.push_back(mean_of(terms->diagonal));
    raw.push_back(total.back() * 4 / terms->positions);
    window.push_back(mean_of(terms->window) * 4);
  }
  out.susceptibility = ratio_estimate(total, diagonal);
  out.susceptibility_raw = estimate_mean(raw);
  out.susceptibility_window = estimate_mean(window);
  for (size_t k = 0; k < lca_levels; ++k) {
    std::vector<double> means;
    for (const auto* terms : per_grammar) means.push_back(mean_of(terms->by_lca[k]));
    out.by_lca[k] = estimate_mean(means);
  }
  return out;
}

OutcomeAgreement combine_outcome(const std::vector<const OutcomeSums*>& per_grammar, int64_t total) {
  OutcomeAgreement out;
  std::vector<double> counts, sums;
  if (per_grammar.size() == 1) {
    counts = per_grammar.front()->count;
    sums = per_grammar.front()->agreement_sum;
  } else {
    for (const auto* group : per_grammar) {
      double count = 0, sum = 0;
      for (double c : group->count) count += c;
      for (double a : group->agreement_sum) sum += a;
      counts.push_back(count);
      sums.push_back(sum);
    }
  }
  double count = 0;
  for (double c : counts) count += c;
  // Counts are whole numbers of trajectories (decode_unit_measures checks those of a journal).
  HDIFF_CHECK(count >= 0 && count <= 0x1p62);
  out.trajectories = static_cast<int64_t>(count);
  out.fraction = total > 0 ? count / static_cast<double>(total) : 0;
  out.agreement = ratio_estimate(sums, counts);
  return out;
}

}  // namespace hdiff
