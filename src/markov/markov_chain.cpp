#include "markov/markov_chain.h"

#include <cmath>

#include "common/error.h"

namespace hdiff {

std::vector<double> rhm_adjacent_pair_joint(const Grammar& grammar) {
  const GrammarParams& p = grammar.params;
  HDIFF_CHECK(p.L >= 1);
  const auto v = static_cast<size_t>(p.v);
  // leftmost[ℓ][a·v + b] = P(leftmost leaf below a node of level ℓ = b | its symbol a); rightmost alike.
  // Leaves: the identity. One level up: the mean over the m productions of the first (last) child's.
  std::vector<std::vector<double>> leftmost(static_cast<size_t>(p.L + 1)), rightmost(leftmost.size());
  leftmost[static_cast<size_t>(p.L)].assign(v * v, 0.0);
  for (size_t a = 0; a < v; ++a) leftmost[static_cast<size_t>(p.L)][a * v + a] = 1;
  rightmost[static_cast<size_t>(p.L)] = leftmost[static_cast<size_t>(p.L)];
  for (int level = p.L - 1; level >= 1; --level) {
    const auto& table = grammar.levels[static_cast<size_t>(level)];
    const auto& below_left = leftmost[static_cast<size_t>(level + 1)];
    const auto& below_right = rightmost[static_cast<size_t>(level + 1)];
    auto& left = leftmost[static_cast<size_t>(level)];
    auto& right = rightmost[static_cast<size_t>(level)];
    left.assign(v * v, 0.0);
    right.assign(v * v, 0.0);
    for (size_t a = 0; a < v; ++a)
      for (int r = 0; r < p.m; ++r) {
        const auto children = table.production(static_cast<int64_t>(a) * p.m + r);
        for (size_t b = 0; b < v; ++b) {
          left[a * v + b] += below_left[children.front() * v + b] / p.m;
          right[a * v + b] += below_right[children.back() * v + b] / p.m;
        }
      }
  }
  // mass[a]: Σ over the nodes of a level of P(node = a), level by level from the uniform root.
  std::vector<double> mass(static_cast<size_t>(p.n_classes), 1.0 / p.n_classes);
  std::vector<double> joint(v * v, 0.0);
  for (int level = 0; level < p.L; ++level) {
    const auto& table = grammar.levels[static_cast<size_t>(level)];
    const auto& right = rightmost[static_cast<size_t>(level + 1)];
    const auto& left = leftmost[static_cast<size_t>(level + 1)];
    std::vector<double> next(v, 0.0);
    for (size_t a = 0; a < mass.size(); ++a) {
      if (mass[a] == 0) continue;
      const double weight = mass[a] / p.m;
      for (int r = 0; r < p.m; ++r) {
        const auto children = table.production(static_cast<int64_t>(a) * p.m + r);
        for (uint32_t child : children) next[child] += weight;
        // The pairs whose lowest common ancestor is this node: children c and c + 1.
        for (size_t c = 0; c + 1 < children.size(); ++c) {
          const double* r_row = right.data() + children[c] * v;
          const double* l_row = left.data() + children[c + 1] * v;
          for (size_t x = 0; x < v; ++x) {
            if (r_row[x] == 0) continue;
            const double wx = weight * r_row[x];
            for (size_t y = 0; y < v; ++y) joint[x * v + y] += wx * l_row[y];
          }
        }
      }
    }
    mass = std::move(next);
  }
  const double pairs = static_cast<double>(sequence_length(p) - 1);
  for (double& value : joint) value /= pairs;
  return joint;
}

std::vector<double> stationary_distribution(std::span<const double> transition, int v) {
  const auto n = static_cast<size_t>(v);
  std::vector<double> pi(n, 1.0 / v), next(n);
  for (int iteration = 0; iteration < 1000000; ++iteration) {
    for (size_t b = 0; b < n; ++b) next[b] = 0.5 * pi[b];
    for (size_t a = 0; a < n; ++a)
      for (size_t b = 0; b < n; ++b) next[b] += 0.5 * pi[a] * transition[a * n + b];
    double total = 0, change = 0;
    for (double x : next) total += x;
    for (size_t b = 0; b < n; ++b) {
      next[b] /= total;
      change += std::fabs(next[b] - pi[b]);
    }
    pi.swap(next);
    if (change < 1e-14) break;
  }
  return pi;
}

MarkovChain rhm_matched_chain(const Grammar& grammar) {
  const int v = grammar.params.v;
  const auto n = static_cast<size_t>(v);
  MarkovChain chain;
  chain.v = v;
  chain.transition = rhm_adjacent_pair_joint(grammar);
  for (size_t a = 0; a < n; ++a) {
    double row = 0;
    for (size_t b = 0; b < n; ++b) row += chain.transition[a * n + b];
    for (size_t b = 0; b < n; ++b) chain.transition[a * n + b] = row > 0 ? chain.transition[a * n + b] / row : 1.0 / v;
  }
  chain.stationary = stationary_distribution(chain.transition, v);
  return chain;
}

uint32_t draw_index(std::span<const double> weights, double total, RandomStream& random) {
  const double u = random.uniform() * total;
  double sum = 0;
  uint32_t last = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] <= 0) continue;
    sum += weights[i];
    last = static_cast<uint32_t>(i);
    if (u < sum) return last;
  }
  return last;  // rounding: u just below total
}

void sample_chain(const MarkovChain& chain, RandomStream& random, std::span<uint32_t> tokens) {
  const auto n = static_cast<size_t>(chain.v);
  if (tokens.empty()) return;
  tokens[0] = draw_index(chain.stationary, 1.0, random);
  for (size_t i = 1; i < tokens.size(); ++i)
    tokens[i] = draw_index({chain.transition.data() + tokens[i - 1] * n, n}, 1.0, random);
}

}  // namespace hdiff
