#pragma once
// The non-hierarchical control of the phase experiment (docs/phase.md, "The
// control"): a stationary Markov chain over the RHM's vocabulary, with the
// RHM's token-pair statistics at distance 1 and no hierarchy.
//
// Matching: J(a, b) is the RHM's exact joint distribution of two adjacent
// tokens (x_i, x_{i+1}), averaged over the d − 1 adjacent pairs of a tree of
// depth L, pairs under one parent and pairs that only share a higher ancestor
// alike (each pair's joint is that of its lowest common ancestor's production,
// the rightmost leaf below one child beside the leftmost leaf below the next).
// The chain's transition matrix is the conditional of J,
// P(b | a) = J(a, b) / Σ_b J(a, b) (a uniform row for a symbol that never
// starts a pair), and its start is P's stationary distribution π, so the chain
// is stationary and its adjacent pairs have the RHM's averaged conditional.

#include <cstdint>
#include <span>
#include <vector>

#include "common/random.h"
#include "grammar/grammar.h"

namespace hdiff {

// A homogeneous Markov chain over v symbols, started from its stationary distribution.
struct MarkovChain {
  int v = 0;
  std::vector<double> stationary;  // π, v values summing to 1, π·P = π
  std::vector<double> transition;  // P, row-major v × v: transition[a·v + b] = P(x_{i+1} = b | x_i = a)
};

// J: the RHM's exact adjacent-token joint of `grammar` (v × v, row-major, sums
// to 1), averaged over the d − 1 adjacent pairs; the root class is uniform and
// each production of a symbol has probability 1/m. Needs L ≥ 1.
std::vector<double> rhm_adjacent_pair_joint(const Grammar& grammar);

// The stationary distribution of a row-stochastic v × v matrix: the limit of
// the lazy chain (I + P)/2 from the uniform distribution, to 1e-14 in L1 (the
// same π as P; the lazy chain converges where P itself may cycle).
std::vector<double> stationary_distribution(std::span<const double> transition, int v);

// The control chain matched to `grammar` (see the top of this file).
MarkovChain rhm_matched_chain(const Grammar& grammar);

// Draws x_0 ~ π and x_{i+1} ~ P(· | x_i) into `tokens` from `random`.
void sample_chain(const MarkovChain& chain, RandomStream& random, std::span<uint32_t> tokens);

// An index drawn from the weights `weights` (not necessarily normalised, sum > 0).
uint32_t draw_index(std::span<const double> weights, double total, RandomStream& random);

}  // namespace hdiff
