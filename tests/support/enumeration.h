#pragma once
// Brute-force enumeration of every derivation of a small grammar, the reference
// that exact BP is checked against.

#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

#include "grammar/grammar.h"

namespace hdiff::testing {

// Every derivation tree (tree_size symbols, level by level) of every class.
inline std::vector<std::vector<uint32_t>> all_trees(const Grammar& grammar) {
  const auto& p = grammar.params;
  std::vector<std::vector<uint32_t>> trees;
  std::vector<uint32_t> tree(static_cast<size_t>(tree_size(p)));
  // Chooses productions node by node in tree order (internal nodes only).
  const int64_t internal = internal_nodes(p);
  std::function<void(int64_t)> expand = [&](int64_t node) {
    if (node == internal) {
      trees.push_back(tree);
      return;
    }
    int level = 0;
    while (level_offset(p, level + 1) <= node) ++level;
    const int64_t i = node - level_offset(p, level);
    const auto& table = grammar.levels[static_cast<size_t>(level)];
    const uint32_t a = tree[static_cast<size_t>(node)];
    for (int r = 0; r < p.m; ++r) {
      const auto rule = table.production(static_cast<int64_t>(a) * p.m + r);
      for (int j = 0; j < p.s; ++j) tree[static_cast<size_t>(level_offset(p, level + 1) + i * p.s + j)] = rule[static_cast<size_t>(j)];
      expand(node + 1);
    }
  };
  for (int y = 0; y < p.n_classes; ++y) {
    tree[0] = static_cast<uint32_t>(y);
    expand(0);
  }
  return trees;
}

// The exact posterior of an observation by enumeration.
struct EnumeratedPosterior {
  std::vector<std::vector<uint32_t>> trees;
  std::vector<double> probability;                  // posterior of each tree
  double log_evidence = 0;                          // log Σ prior × likelihood
  std::vector<std::vector<double>> marginals;       // per level: s^ℓ × n_ℓ
};

// `leaf_log_likelihood(i, a)` is log p(obs_i | x_i = a) as SPEC §2 writes it.
inline EnumeratedPosterior enumerate_posterior(const Grammar& grammar,
                                               const std::function<double(int64_t, uint32_t)>& leaf_log_likelihood) {
  const auto& p = grammar.params;
  EnumeratedPosterior result;
  result.trees = all_trees(grammar);
  const int64_t d = sequence_length(p);
  const int64_t leaf_begin = level_offset(p, p.L);
  const double log_prior = -std::log(static_cast<double>(p.n_classes)) -
                           static_cast<double>(internal_nodes(p)) * std::log(static_cast<double>(p.m));
  std::vector<double> log_weight;
  double top = -INFINITY;
  for (const auto& tree : result.trees) {
    double value = log_prior;
    for (int64_t i = 0; i < d; ++i) value += leaf_log_likelihood(i, tree[static_cast<size_t>(leaf_begin + i)]);
    log_weight.push_back(value);
    top = std::max(top, value);
  }
  double sum = 0;
  for (double w : log_weight) sum += std::exp(w - top);
  result.log_evidence = top + std::log(sum);
  for (double w : log_weight) result.probability.push_back(std::exp(w - result.log_evidence));
  for (int level = 0; level <= p.L; ++level)
    result.marginals.emplace_back(static_cast<size_t>(nodes_at_level(p, level) * symbols_at_level(p, level)), 0.0);
  for (size_t t = 0; t < result.trees.size(); ++t)
    for (int level = 0; level <= p.L; ++level) {
      const int n = symbols_at_level(p, level);
      for (int64_t i = 0; i < nodes_at_level(p, level); ++i) {
        const uint32_t a = result.trees[t][static_cast<size_t>(level_offset(p, level) + i)];
        result.marginals[static_cast<size_t>(level)][static_cast<size_t>(i * n + a)] += result.probability[t];
      }
    }
  return result;
}

}  // namespace hdiff::testing
