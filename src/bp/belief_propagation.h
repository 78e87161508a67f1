#pragma once
// Exact inference on the RHM tree (SPEC §3): upward and downward messages,
// marginals, log-evidence, posterior sampling and MAP. One TreeMessages holds all
// messages of one sample; a thread reuses it from sample to sample, so no pass
// allocates.
// Guarantees: exact (equal to brute-force enumeration in the tests), in double
// precision with per-node normalisation, so no underflow at any depth; posterior
// samples are exact draws keyed by (seed, sample index).

#include <cstdint>
#include <span>
#include <vector>

#include "common/random.h"
#include "grammar/grammar.h"

namespace hdiff {

// The messages of one tree, stored level by level; node i of level ℓ owns the
// n_ℓ values at offset(ℓ) + i·n_ℓ of `up` and `down`.
struct TreeMessages {
  // Sizes every buffer for trees of this grammar.
  explicit TreeMessages(const GrammarParams& params);

  std::vector<int64_t> offsets;   // start of each level 0..L in up/down
  std::vector<double> up;         // upward messages u, normalised to sum 1
  std::vector<double> down;       // downward messages w, normalised to sum 1
  std::vector<double> max_up;     // max-product upward messages (MAP only)
  double leaf_log_scale = 0;      // sum of logs of the leaf likelihoods' normalisers
  double log_evidence = 0;        // log p(obs), set by upward_messages

  // The leaf likelihoods (d × v), to be filled before upward_messages.
  std::span<double> leaves();
  // The n_ℓ values of node i at level ℓ of `up`.
  std::span<const double> up_at(int level, int64_t i, int n_level) const {
    return {up.data() + offsets[static_cast<size_t>(level)] + i * n_level, static_cast<size_t>(n_level)};
  }

 private:
  int L_ = 0;
};

// Prior over classes; empty means uniform.
using ClassPrior = std::span<const double>;

// Upward pass from the leaf likelihoods in messages.leaves(); sets every u and
// messages.log_evidence. Throws Error when the evidence has probability zero
// (or below double range), naming the level and node.
void upward_messages(const Grammar& grammar, TreeMessages& messages, ClassPrior prior = {});

// Downward pass; needs upward_messages first.
void downward_messages(const Grammar& grammar, TreeMessages& messages, ClassPrior prior = {});

// Marginals p(z_ℓ,i = a | obs) of every node of `level` into out (s^ℓ × n_ℓ);
// needs both passes (the prior enters through the downward pass).
void node_marginals(const Grammar& grammar, const TreeMessages& messages, int level, std::span<double> out);

// Draws one tree from p(tree | obs) into `tree` (tree_size symbols, level by
// level); needs upward_messages.
void sample_posterior(const Grammar& grammar, const TreeMessages& messages, RandomStream& random,
                      std::span<uint32_t> tree, ClassPrior prior = {});

// The most probable tree given the observation (max-product); ties go to the
// smaller symbol or production index. Uses messages.leaves(); fills max_up.
void map_tree(const Grammar& grammar, TreeMessages& messages, std::span<uint32_t> tree, ClassPrior prior = {});

}  // namespace hdiff
