#pragma once
// Exact posterior of a Markov chain observed through a noise channel: the
// forward–backward recursions give every position's posterior marginal
// p(x_i | observations), and forward filtering, backward sampling draws whole
// sequences from the joint posterior. Messages are normalised at every
// position (in double), so long chains neither underflow nor overflow.

#include <cstdint>
#include <span>
#include <vector>

#include "common/random.h"
#include "markov/markov_chain.h"

namespace hdiff {

// The buffers of one chain of length d (reused from sequence to sequence).
struct ChainPosterior {
  std::vector<double> forward;    // d × v: α_i ∝ p(x_i, obs_0..i), each row summing to 1
  std::vector<double> marginals;  // d × v: p(x_i | all observations), each row summing to 1
};

// Runs forward–backward on leaf likelihoods `likelihoods` (d × v, row i =
// p(obs_i | x_i = ·) up to a factor); fills posterior.forward and
// posterior.marginals and returns log p(observations) up to the likelihoods'
// factors. Error when the observations are impossible under the chain.
double forward_backward(const MarkovChain& chain, std::span<const double> likelihoods, int64_t d,
                        ChainPosterior& posterior);

// Draws one sequence from the posterior (after forward_backward on the same
// observations): x_{d−1} ~ α_{d−1}, then x_i ~ α_i(·)·P(·, x_{i+1}) backwards.
void sample_posterior(const MarkovChain& chain, const ChainPosterior& posterior, int64_t d, RandomStream& random,
                      std::span<uint32_t> tokens);

}  // namespace hdiff
