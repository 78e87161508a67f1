#include "markov/forward_backward.h"

#include <cmath>

#include "common/error.h"

namespace hdiff {

double forward_backward(const MarkovChain& chain, std::span<const double> likelihoods, int64_t d,
                        ChainPosterior& posterior) {
  const auto v = static_cast<size_t>(chain.v);
  const auto n = static_cast<size_t>(d);
  HDIFF_CHECK(likelihoods.size() == n * v);
  posterior.forward.assign(n * v, 0.0);
  posterior.marginals.assign(n * v, 0.0);
  const double* P = chain.transition.data();
  double log_evidence = 0;
  const auto normalise = [&](double* row) {
    double total = 0;
    for (size_t a = 0; a < v; ++a) total += row[a];
    if (!(total > 0)) fail("the observations are impossible under the Markov chain");
    for (size_t a = 0; a < v; ++a) row[a] /= total;
    return total;
  };
  // Forward: α_0 ∝ π ⊙ e_0, α_{i+1} ∝ (α_i P) ⊙ e_{i+1}.
  double* alpha = posterior.forward.data();
  for (size_t a = 0; a < v; ++a) alpha[a] = chain.stationary[a] * likelihoods[a];
  log_evidence += std::log(normalise(alpha));
  for (size_t i = 1; i < n; ++i) {
    const double* previous = alpha + (i - 1) * v;
    double* row = alpha + i * v;
    for (size_t a = 0; a < v; ++a) {
      if (previous[a] == 0) continue;
      const double* transition = P + a * v;
      for (size_t b = 0; b < v; ++b) row[b] += previous[a] * transition[b];
    }
    for (size_t b = 0; b < v; ++b) row[b] *= likelihoods[i * v + b];
    log_evidence += std::log(normalise(row));
  }
  // Backward: β_{d−1} = 1, β_i(a) ∝ Σ_b P(a, b) e_{i+1}(b) β_{i+1}(b); marginal ∝ α_i ⊙ β_i.
  std::vector<double> beta(v, 1.0), weighted(v);
  for (size_t i = n; i-- > 0;) {
    double* marginal = posterior.marginals.data() + i * v;
    for (size_t a = 0; a < v; ++a) marginal[a] = alpha[i * v + a] * beta[a];
    normalise(marginal);
    if (i == 0) break;
    for (size_t b = 0; b < v; ++b) weighted[b] = likelihoods[i * v + b] * beta[b];
    double total = 0;
    for (size_t a = 0; a < v; ++a) {
      const double* transition = P + a * v;
      double sum = 0;
      for (size_t b = 0; b < v; ++b) sum += transition[b] * weighted[b];
      beta[a] = sum;
      total += sum;
    }
    if (!(total > 0)) fail("the observations are impossible under the Markov chain");
    for (double& x : beta) x /= total;
  }
  return log_evidence;
}

void sample_posterior(const MarkovChain& chain, const ChainPosterior& posterior, int64_t d, RandomStream& random,
                      std::span<uint32_t> tokens) {
  const auto v = static_cast<size_t>(chain.v);
  const auto n = static_cast<size_t>(d);
  HDIFF_CHECK(tokens.size() == n && posterior.forward.size() == n * v);
  tokens[n - 1] = draw_index({posterior.forward.data() + (n - 1) * v, v}, 1.0, random);
  std::vector<double> weights(v);
  for (size_t i = n - 1; i-- > 0;) {
    const double* alpha = posterior.forward.data() + i * v;
    const size_t next = tokens[i + 1];
    double total = 0;
    for (size_t a = 0; a < v; ++a) {
      weights[a] = alpha[a] * chain.transition[a * v + next];
      total += weights[a];
    }
    tokens[i] = draw_index(weights, total, random);
  }
}

}  // namespace hdiff
