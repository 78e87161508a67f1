#include "bp/belief_propagation.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace hdiff {
namespace {

double prior_at(ClassPrior prior, int n_classes, int a) {
  return prior.empty() ? 1.0 / n_classes : prior[static_cast<size_t>(a)];
}

[[noreturn]] void zero_evidence(int level, int64_t node) {
  fail("the observation has probability zero under this grammar and channel (no derivation fits node {} of "
       "level {}); with epsilon = 0 or the mask channel only grammatical strings can be observed, and a "
       "near-noiseless gaussian observation can fall below double precision",
       node, level);
}

// u(a) = Σ_r Π_j child_j(b_j) for every parent symbol a; returns Σ_a u(a) before
// normalisation. s = 2 is the common case and gets a loop without the inner product loop.
double combine_children(const ProductionTable& table, const double* const* child, double* parent) {
  const int64_t productions = static_cast<int64_t>(table.n_parents) * table.m;
  const uint32_t* rule = table.children.data();
  std::fill(parent, parent + table.n_parents, 0.0);
  if (table.s == 2) {
    const double* left = child[0];
    const double* right = child[1];
    for (int a = 0; a < table.n_parents; ++a) {
      double sum = 0;
      for (int r = 0; r < table.m; ++r, rule += 2) sum += left[rule[0]] * right[rule[1]];
      parent[a] = sum;
    }
  } else {
    for (int64_t p = 0; p < productions; ++p, rule += table.s) {
      double product = child[0][rule[0]];
      for (int j = 1; j < table.s; ++j) product *= child[j][rule[j]];
      parent[p / table.m] += product;
    }
  }
  double total = 0;
  for (int a = 0; a < table.n_parents; ++a) total += parent[a];
  return total;
}

// Π_j child_j(b_j) for production r of symbol a at node i, where `children`
// holds the messages of the level below (n_children values per node).
double production_weight(const ProductionTable& table, const double* children, int64_t i, uint32_t a, int r) {
  const auto rule = table.production(static_cast<int64_t>(a) * table.m + r);
  double product = 1;
  for (int j = 0; j < table.s; ++j)
    product *= children[(i * table.s + j) * table.n_children + rule[static_cast<size_t>(j)]];
  return product;
}

}  // namespace

TreeMessages::TreeMessages(const GrammarParams& params) : L_(params.L) {
  int64_t total = 0;
  for (int level = 0; level <= params.L; ++level) {
    offsets.push_back(total);
    total += nodes_at_level(params, level) * symbols_at_level(params, level);
  }
  offsets.push_back(total);
  up.assign(static_cast<size_t>(total), 0.0);
  down.assign(static_cast<size_t>(total), 0.0);
}

std::span<double> TreeMessages::leaves() {
  const auto begin = offsets[static_cast<size_t>(L_)];
  return {up.data() + begin, static_cast<size_t>(offsets[static_cast<size_t>(L_) + 1] - begin)};
}

void upward_messages(const Grammar& grammar, TreeMessages& messages, ClassPrior prior) {
  const auto& p = grammar.params;
  double log_scale = messages.leaf_log_scale;
  const double* children[16];
  for (int level = p.L - 1; level >= 0; --level) {
    const auto& table = grammar.levels[static_cast<size_t>(level)];
    const int n_parent = table.n_parents;
    const int n_child = table.n_children;
    double* parent_base = messages.up.data() + messages.offsets[static_cast<size_t>(level)];
    const double* child_base = messages.up.data() + messages.offsets[static_cast<size_t>(level) + 1];
    const int64_t count = nodes_at_level(p, level);
    for (int64_t i = 0; i < count; ++i) {
      for (int j = 0; j < p.s; ++j) children[j] = child_base + (i * p.s + j) * n_child;
      double* parent = parent_base + i * n_parent;
      const double total = combine_children(table, children, parent);
      if (!(total > 0)) zero_evidence(level, i);
      const double inverse = 1.0 / total;
      for (int a = 0; a < n_parent; ++a) parent[a] *= inverse;
      log_scale += std::log(total);
    }
  }
  double evidence = 0;
  for (int y = 0; y < p.n_classes; ++y) evidence += prior_at(prior, p.n_classes, y) * messages.up[static_cast<size_t>(y)];
  if (!(evidence > 0)) zero_evidence(0, 0);
  messages.log_evidence =
      std::log(evidence) + log_scale - static_cast<double>(internal_nodes(p)) * std::log(static_cast<double>(p.m));
}

void downward_messages(const Grammar& grammar, TreeMessages& messages, ClassPrior prior) {
  const auto& p = grammar.params;
  for (int y = 0; y < p.n_classes; ++y) messages.down[static_cast<size_t>(y)] = prior_at(prior, p.n_classes, y);
  double others[16];
  for (int level = 0; level < p.L; ++level) {
    const auto& table = grammar.levels[static_cast<size_t>(level)];
    const int n_parent = table.n_parents;
    const int n_child = table.n_children;
    const double* parent_down = messages.down.data() + messages.offsets[static_cast<size_t>(level)];
    const double* child_up = messages.up.data() + messages.offsets[static_cast<size_t>(level) + 1];
    double* child_down = messages.down.data() + messages.offsets[static_cast<size_t>(level) + 1];
    const int64_t count = nodes_at_level(p, level);
    for (int64_t i = 0; i < count; ++i) {
      const double* w = parent_down + i * n_parent;
      double* out[16];
      const double* in[16];
      for (int j = 0; j < p.s; ++j) {
        out[j] = child_down + (i * p.s + j) * n_child;
        in[j] = child_up + (i * p.s + j) * n_child;
        std::fill(out[j], out[j] + n_child, 0.0);
      }
      const uint32_t* rule = table.children.data();
      if (p.s == 2) {
        // The common binary case without the prefix/suffix bookkeeping.
        for (int a = 0; a < n_parent; ++a) {
          const double weight = w[a];
          for (int r = 0; r < table.m; ++r, rule += 2) {
            out[0][rule[0]] += weight * in[1][rule[1]];
            out[1][rule[1]] += weight * in[0][rule[0]];
          }
        }
      } else {
        for (int a = 0; a < n_parent; ++a) {
          const double weight = w[a];
          for (int r = 0; r < table.m; ++r, rule += p.s) {
            // Π_{k≠j} u_k(b_k) for every j, by prefix and suffix products.
            double prefix = weight;
            for (int j = 0; j < p.s; ++j) {
              others[j] = prefix;
              prefix *= in[j][rule[j]];
            }
            double suffix = 1.0;
            for (int j = p.s - 1; j >= 0; --j) {
              out[j][rule[j]] += others[j] * suffix;
              suffix *= in[j][rule[j]];
            }
          }
        }
      }
      for (int j = 0; j < p.s; ++j) {
        double total = 0;
        for (int b = 0; b < n_child; ++b) total += out[j][b];
        if (!(total > 0)) zero_evidence(level + 1, i * p.s + j);
        const double inverse = 1.0 / total;
        for (int b = 0; b < n_child; ++b) out[j][b] *= inverse;
      }
    }
  }
}

void node_marginals(const Grammar& grammar, const TreeMessages& messages, int level, std::span<double> out) {
  const auto& p = grammar.params;
  const int n = symbols_at_level(p, level);
  const int64_t count = nodes_at_level(p, level);
  const int64_t begin = messages.offsets[static_cast<size_t>(level)];
  for (int64_t i = 0; i < count; ++i) {
    double total = 0;
    for (int a = 0; a < n; ++a) {
      const auto at = static_cast<size_t>(begin + i * n + a);
      total += out[static_cast<size_t>(i * n + a)] = messages.up[at] * messages.down[at];
    }
    if (!(total > 0)) zero_evidence(level, i);
    for (int a = 0; a < n; ++a) out[static_cast<size_t>(i * n + a)] /= total;
  }
}

void sample_posterior(const Grammar& grammar, const TreeMessages& messages, RandomStream& random,
                      std::span<uint32_t> tree, ClassPrior prior) {
  const auto& p = grammar.params;
  {
    double total = 0;
    for (int y = 0; y < p.n_classes; ++y) total += prior_at(prior, p.n_classes, y) * messages.up[static_cast<size_t>(y)];
    double target = random.uniform() * total;
    int y = 0;
    for (; y < p.n_classes - 1; ++y) {
      target -= prior_at(prior, p.n_classes, y) * messages.up[static_cast<size_t>(y)];
      if (target < 0) break;
    }
    // Never pick a symbol of weight zero through rounding at the end of the scan.
    while (prior_at(prior, p.n_classes, y) * messages.up[static_cast<size_t>(y)] == 0 && y > 0) --y;
    tree[0] = static_cast<uint32_t>(y);
  }
  double weights[4096];
  std::vector<double> large_weights;
  for (int level = 0; level < p.L; ++level) {
    const auto& table = grammar.levels[static_cast<size_t>(level)];
    const double* child_up = messages.up.data() + messages.offsets[static_cast<size_t>(level) + 1];
    const int64_t begin = level_offset(p, level);
    uint32_t* children = tree.data() + level_offset(p, level + 1);
    const int64_t count = nodes_at_level(p, level);
    double* weight = weights;
    if (table.m > 4096) {
      large_weights.resize(static_cast<size_t>(table.m));
      weight = large_weights.data();
    }
    for (int64_t i = 0; i < count; ++i) {
      const uint32_t a = tree[static_cast<size_t>(begin + i)];
      double total = 0;
      for (int r = 0; r < table.m; ++r) {
        total += weight[r] = production_weight(table, child_up, i, a, r);
      }
      double target = random.uniform() * total;
      int r = 0;
      for (; r < table.m - 1; ++r) {
        target -= weight[r];
        if (target < 0) break;
      }
      while (weight[r] == 0 && r > 0) --r;
      const auto rule = table.production(static_cast<int64_t>(a) * table.m + r);
      std::copy(rule.begin(), rule.end(), children + i * p.s);
    }
  }
}

void map_tree(const Grammar& grammar, TreeMessages& messages, std::span<uint32_t> tree, ClassPrior prior) {
  const auto& p = grammar.params;
  messages.max_up.resize(messages.up.size());
  // Leaves: the max-product leaf messages are the likelihoods themselves.
  const auto leaf_begin = messages.offsets[static_cast<size_t>(p.L)];
  std::copy(messages.up.begin() + leaf_begin, messages.up.end(), messages.max_up.begin() + leaf_begin);
  for (int level = p.L - 1; level >= 0; --level) {
    const auto& table = grammar.levels[static_cast<size_t>(level)];
    const int n_parent = table.n_parents;
    double* parent_base = messages.max_up.data() + messages.offsets[static_cast<size_t>(level)];
    const double* child_base = messages.max_up.data() + messages.offsets[static_cast<size_t>(level) + 1];
    const int64_t count = nodes_at_level(p, level);
    for (int64_t i = 0; i < count; ++i) {
      double* parent = parent_base + i * n_parent;
      double top = 0;
      for (int a = 0; a < n_parent; ++a) {
        double best_value = 0;
        for (int r = 0; r < table.m; ++r) {
          best_value = std::max(best_value, production_weight(table, child_base, i, static_cast<uint32_t>(a), r));
        }
        parent[a] = best_value;
        top = std::max(top, best_value);
      }
      if (!(top > 0)) zero_evidence(level, i);
      for (int a = 0; a < n_parent; ++a) parent[a] /= top;
    }
  }
  // Root: the class of largest prior × max-message.
  int best_y = 0;
  double best_value = -1;
  for (int y = 0; y < p.n_classes; ++y) {
    const double value = prior_at(prior, p.n_classes, y) * messages.max_up[static_cast<size_t>(y)];
    if (value > best_value) {
      best_value = value;
      best_y = y;
    }
  }
  tree[0] = static_cast<uint32_t>(best_y);
  // Top-down: each node takes the first production that attains its max-message
  // (recomputing the arg-max here costs as much as storing it and needs no buffer).
  for (int level = 0; level < p.L; ++level) {
    const auto& table = grammar.levels[static_cast<size_t>(level)];
    const double* child_base = messages.max_up.data() + messages.offsets[static_cast<size_t>(level) + 1];
    const int64_t begin = level_offset(p, level);
    uint32_t* children = tree.data() + level_offset(p, level + 1);
    for (int64_t i = 0; i < nodes_at_level(p, level); ++i) {
      const uint32_t a = tree[static_cast<size_t>(begin + i)];
      double best_product = -1;
      int best_r = 0;
      for (int r = 0; r < table.m; ++r) {
        const double product = production_weight(table, child_base, i, a, r);
        if (product > best_product) {
          best_product = product;
          best_r = r;
        }
      }
      const auto rule = table.production(static_cast<int64_t>(a) * table.m + best_r);
      std::copy(rule.begin(), rule.end(), children + i * p.s);
    }
  }
}

}  // namespace hdiff
