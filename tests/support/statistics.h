#pragma once
// Goodness-of-fit helpers for sampler tests: the chi-square test against exact
// probabilities, with small-expectation categories pooled.

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace hdiff::testing {

// Regularised upper incomplete gamma Q(a, x) (Numerical-Recipes-style series
// and continued fraction, written from the definitions).
inline double upper_gamma_q(double a, double x) {
  if (x <= 0) return 1.0;
  const double log_prefactor = -x + a * std::log(x) - std::lgamma(a);
  if (x < a + 1) {
    double term = 1.0 / a, sum = term;
    for (int n = 1; n < 10000; ++n) {
      term *= x / (a + n);
      sum += term;
      if (std::fabs(term) < std::fabs(sum) * 1e-15) break;
    }
    return 1.0 - sum * std::exp(log_prefactor);
  }
  // Lentz's continued fraction for Q.
  double b = x + 1 - a, c = 1e300, d = 1 / b, h = d;
  for (int i = 1; i < 10000; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (std::fabs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < 1e-15) break;
  }
  return std::exp(log_prefactor) * h;
}

// The p-value of a chi-square test of `counts` against `probabilities` (which
// sum to 1); categories expecting fewer than 5 draws are pooled into one.
inline double chi_square_p_value(const std::vector<int64_t>& counts, const std::vector<double>& probabilities) {
  if (counts.size() != probabilities.size()) throw std::invalid_argument("counts and probabilities differ in size");
  int64_t total = 0;
  for (auto c : counts) total += c;
  double statistic = 0, pooled_expected = 0;
  int64_t pooled_count = 0;
  int categories = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const double expected = probabilities[i] * static_cast<double>(total);
    if (expected < 5) {
      pooled_expected += expected;
      pooled_count += counts[i];
      continue;
    }
    statistic += (counts[i] - expected) * (counts[i] - expected) / expected;
    ++categories;
  }
  if (pooled_expected > 0) {
    if (pooled_expected >= 1) {
      statistic += (pooled_count - pooled_expected) * (pooled_count - pooled_expected) / pooled_expected;
      ++categories;
    } else if (pooled_count > 5) {
      return 0.0;  // many draws where almost none were expected
    }
  }
  if (categories < 2) return 1.0;
  return upper_gamma_q((categories - 1) / 2.0, statistic / 2.0);
}

}  // namespace hdiff::testing
