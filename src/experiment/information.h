#pragma once
// What the noisy observation x_t still tells about each level (docs/phase.md):
// per node, from the exact posterior marginal p(z_ℓ,i | x_t), its entropy, the
// cross-entropy at the true symbol and the probability that two posterior
// draws share the node's symbol; per level, the prior entropy of a node's
// symbol under the grammar, exact. Pure functions, checked against enumeration.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "bp/denoise.h"
#include "experiment/changes.h"
#include "grammar/grammar.h"

namespace hdiff {

// The three per-node measures of one posterior marginal, in nats.
struct NodeInformation {
  double entropy = 0;        // H = −Σ_a p_a log p_a
  double cross_entropy = 0;  // −log p_truth (the Bayes-optimal loss at the truth)
  double same_symbol = 0;    // Σ_a p_a²: two independent posterior draws share the symbol
};

// The measures of the marginal `p` (n_ℓ values, renormalised to sum 1 here, so
// that float32 marginals give an entropy ≥ 0) at the true symbol `truth`. A
// probability of the truth below 1e-300 (impossible for exact marginals of an
// observation drawn from the truth; only underflow gives it) counts as 1e-300.
// `logs`: float32 takes the entropy's logarithms in single precision (twice
// as fast, 1e-7 relative: enough for marginals of the float32 batch path).
NodeInformation node_information(std::span<const double> p, uint32_t truth, Precision logs = Precision::float64);

// Adds the measures of every node of one level, from its marginals (s^ℓ × n_ℓ,
// node-major) and its true symbols (s^ℓ), to `sums` as means over the level's
// nodes: sums += (mean entropy, mean cross-entropy, mean same-symbol).
void add_level_information(std::span<const double> marginals, std::span<const uint32_t> truth, int n,
                           NodeInformation& sums, Precision logs = Precision::float64);

// The leaves' marginals (d × v) from their parents' (s^(L−1) × n_(L−1)) and
// the leaf likelihoods (d × v, any positive scale per leaf): given its parent's
// symbol a', a sibling group is a production of a' with probability ∝ the
// product of its leaves' likelihoods, so p(x_i = b | obs) = Σ_a' p(a' | obs) ·
// Σ_{productions of a' with b at i's place} Π ℓ / Σ_{productions of a'} Π ℓ.
// Exact; faster than reading every (leaf, symbol) off the batch path.
void leaf_marginals_from_parents(const Grammar& grammar, std::span<const double> parents,
                                 std::span<const double> likelihoods, std::span<double> out);

// For every level ℓ = 0..L, the mean over its nodes of the entropy of the
// node's prior marginal p(z_ℓ,i) under the generative process (the root's is
// log n_c; below, the parent's marginal pushed through the uniform choice among
// its m productions to the child's position). This is the per-node entropy,
// not the joint entropy of the level's symbols, which is smaller.
std::vector<double> prior_level_entropy(const Grammar& grammar);

// The information rows of one (L, noise, level) point: means over samples (one
// grammar) or over grammars (several), with the standard error of that mean.
struct InformationSummary {
  double prior_entropy = 0;     // H(z_ℓ,i) averaged over the level's nodes (and grammars)
  Estimate entropy;             // H(z_ℓ,i | x_t)
  Estimate mutual_information;  // H(z_ℓ,i) − H(z_ℓ,i | x_t)
  Estimate cross_entropy;       // −log p(z_ℓ,i = truth | x_t)
  Estimate same_symbol;         // Σ_a p(z_ℓ,i = a | x_t)²
};

// `entropy`, `cross_entropy` and `same_symbol`: one value per cluster (a
// sample of the one grammar, or a grammar's mean over its samples); `prior`:
// one value (one grammar) or one per cluster (each grammar's own prior).
InformationSummary summarise_information(std::span<const double> prior, std::span<const double> entropy,
                                         std::span<const double> cross_entropy, std::span<const double> same_symbol);

}  // namespace hdiff
