#include "experiment/information.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace hdiff {

NodeInformation node_information(std::span<const double> p, uint32_t truth, Precision logs) {
  HDIFF_CHECK(truth < p.size());
  double total = 0;
  for (double x : p) total += x;
  HDIFF_CHECK(total > 0);
  NodeInformation out;
  // Σ p log p with p = x/total: (Σ x log x)/total − log total, without a division per symbol.
  double x_log_x = 0, squares = 0;
  if (logs == Precision::float32) {
    for (double x : p) {
      const auto single = static_cast<float>(x);  // 0 below float's range, where x·log x is below 1e-43 anyway
      if (single > 0) x_log_x += x * static_cast<double>(std::log(single));
      squares += x * x;
    }
  } else {
    for (double x : p) {
      if (x > 0) x_log_x += x * std::log(x);
      squares += x * x;
    }
  }
  const double log_total = std::log(total);
  out.entropy = std::max(0.0, log_total - x_log_x / total);
  out.same_symbol = squares / (total * total);
  out.cross_entropy = -std::log(std::max(p[truth] / total, 1e-300));
  return out;
}

void add_level_information(std::span<const double> marginals, std::span<const uint32_t> truth, int n,
                           NodeInformation& sums, Precision logs) {
  const size_t nodes = truth.size();
  HDIFF_CHECK(marginals.size() == nodes * static_cast<size_t>(n));
  NodeInformation level;
  for (size_t i = 0; i < nodes; ++i) {
    const NodeInformation node =
        node_information(marginals.subspan(i * static_cast<size_t>(n), static_cast<size_t>(n)), truth[i], logs);
    level.entropy += node.entropy;
    level.cross_entropy += node.cross_entropy;
    level.same_symbol += node.same_symbol;
  }
  const auto count = static_cast<double>(nodes);
  sums.entropy += level.entropy / count;
  sums.cross_entropy += level.cross_entropy / count;
  sums.same_symbol += level.same_symbol / count;
}

namespace {

double entropy_of(std::span<const double> p) {
  double h = 0;
  for (double x : p)
    if (x > 0) h -= x * std::log(x);
  return h;
}

}  // namespace

void leaf_marginals_from_parents(const Grammar& grammar, std::span<const double> parents,
                                 std::span<const double> likelihoods, std::span<double> out) {
  const auto& p = grammar.params;
  HDIFF_CHECK(p.L >= 1);
  const int n = symbols_at_level(p, p.L - 1);
  const int64_t groups = nodes_at_level(p, p.L - 1);
  const auto v = static_cast<size_t>(p.v);
  const auto s = static_cast<size_t>(p.s);
  const auto m = static_cast<size_t>(p.m);
  HDIFF_CHECK(parents.size() == static_cast<size_t>(groups * n) && likelihoods.size() == out.size() &&
              out.size() == static_cast<size_t>(groups) * s * v);
  std::fill(out.begin(), out.end(), 0.0);
  // The productions of level L-1, flat: children[(a·m + r)·s + j].
  const uint32_t* children = grammar.levels[static_cast<size_t>(p.L - 1)].children.data();
  std::vector<double> weight(m);
  for (int64_t i = 0; i < groups; ++i) {
    const double* leaf = likelihoods.data() + static_cast<size_t>(i) * s * v;
    double* marginal = out.data() + static_cast<size_t>(i) * s * v;
    for (int a = 0; a < n; ++a) {
      const double parent = parents[static_cast<size_t>(i * n + a)];
      if (!(parent > 0)) continue;
      const uint32_t* rule = children + static_cast<size_t>(a) * m * s;
      double total = 0;
      if (s == 2) {  // the common case unrolled (the loop over j cost more than its work): the same products
        for (size_t r = 0; r < m; ++r) {
          const double product = leaf[rule[2 * r]] * leaf[v + rule[2 * r + 1]];
          weight[r] = product;
          total += product;
        }
      } else {
        for (size_t r = 0; r < m; ++r) {
          double product = 1;
          for (size_t j = 0; j < s; ++j) product *= leaf[j * v + rule[r * s + j]];
          weight[r] = product;
          total += product;
        }
      }
      if (!(total > 0)) continue;  // a parent the leaves rule out (a rounding remnant of float marginals)
      const double scale = parent / total;
      if (s == 2) {
        for (size_t r = 0; r < m; ++r) {
          marginal[rule[2 * r]] += weight[r] * scale;
          marginal[v + rule[2 * r + 1]] += weight[r] * scale;
        }
      } else {
        for (size_t r = 0; r < m; ++r)
          for (size_t j = 0; j < s; ++j) marginal[j * v + rule[r * s + j]] += weight[r] * scale;
      }
    }
  }
}

std::vector<double> prior_level_entropy(const Grammar& grammar) {
  const auto& p = grammar.params;
  std::vector<double> out;
  // Marginals of every node of the current level, node-major.
  std::vector<double> marginal(static_cast<size_t>(p.n_classes), 1.0 / p.n_classes);
  for (int level = 0;; ++level) {
    const int n = symbols_at_level(p, level);
    const int64_t nodes = nodes_at_level(p, level);
    double sum = 0;
    for (int64_t i = 0; i < nodes; ++i)
      sum += entropy_of(std::span<const double>(marginal).subspan(static_cast<size_t>(i * n), static_cast<size_t>(n)));
    out.push_back(sum / static_cast<double>(nodes));
    if (level == p.L) break;
    // Child j of node i: Σ_a p_i(a)/m over a's productions r of the symbol at position j.
    std::vector<double> children(static_cast<size_t>(nodes * p.s * p.v), 0.0);
    const auto& table = grammar.levels[static_cast<size_t>(level)];
    for (int64_t i = 0; i < nodes; ++i)
      for (int a = 0; a < n; ++a) {
        const double weight = marginal[static_cast<size_t>(i * n + a)] / p.m;
        if (weight == 0) continue;
        for (int r = 0; r < p.m; ++r) {
          const auto rule = table.production(static_cast<int64_t>(a) * p.m + r);
          for (int j = 0; j < p.s; ++j)
            children[static_cast<size_t>((i * p.s + j) * p.v + rule[static_cast<size_t>(j)])] += weight;
        }
      }
    marginal = std::move(children);
  }
  return out;
}

InformationSummary summarise_information(std::span<const double> prior, std::span<const double> entropy,
                                         std::span<const double> cross_entropy, std::span<const double> same_symbol) {
  HDIFF_CHECK(!prior.empty() && (prior.size() == 1 || prior.size() == entropy.size()));
  InformationSummary out;
  for (double h : prior) out.prior_entropy += h;
  out.prior_entropy /= static_cast<double>(prior.size());
  std::vector<double> information;
  for (size_t k = 0; k < entropy.size(); ++k) information.push_back(prior[prior.size() == 1 ? 0 : k] - entropy[k]);
  out.entropy = estimate_mean(entropy);
  out.mutual_information = estimate_mean(information);
  out.cross_entropy = estimate_mean(cross_entropy);
  out.same_symbol = estimate_mean(same_symbol);
  return out;
}

}  // namespace hdiff
