#pragma once
// Populations of messages for density evolution (SPEC §5): P normalised message
// vectors standing for the law of the message of a node whose true symbol is 0.
// The population is split into independent replicas (members draw their inputs
// only from their own replica), so that the spread of the replica means gives an
// honest standard error: members of one population share ancestors, and their
// plain standard deviation over √P would understate the error.

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "common/random.h"
#include "noise/channel.h"

namespace hdiff {

// P message vectors of `width` values each (normalised to sum 1), member i at
// values[i·width ..].
struct MessagePopulation {
  int64_t count = 0;
  int width = 0;
  std::vector<double> values;

  MessagePopulation() = default;
  MessagePopulation(int64_t count_, int width_)
      : count(count_), width(width_), values(static_cast<size_t>(count_ * width_)) {}
  // The message of member i.
  std::span<double> at(int64_t i) { return {values.data() + i * width, static_cast<size_t>(width)}; }
  std::span<const double> at(int64_t i) const { return {values.data() + i * width, static_cast<size_t>(width)}; }
};

// How the members of a population are grouped into independent replicas.
struct Replicas {
  int64_t count = 0;     // members
  int64_t replicas = 1;  // replicas; replica r holds members [r·count/replicas, (r+1)·count/replicas)
  // The first member of replica r and the replica's size.
  std::pair<int64_t, int64_t> block(int64_t r) const;
  // The replica of member i.
  int64_t replica_of(int64_t i) const;
  // The first member of member i's replica and the replica's size.
  std::pair<int64_t, int64_t> block_of(int64_t i) const;
  // A member drawn uniformly from member i's replica.
  int64_t draw_partner(int64_t i, RandomStream& random) const;
};

// Mean over members and its standard error from the spread of the replica means.
struct PopulationMean {
  double mean = 0;
  double standard_error = 0;
};

// Mean of per-member values, with the standard error over replicas.
PopulationMean population_mean(std::span<const double> per_member, const Replicas& replicas);

// The mean of per-member values within each replica.
std::vector<double> replica_means(std::span<const double> per_member, const Replicas& replicas);

// Identifies the random stream of one member at one stage of the computation:
// (seed, stage, member) keys all its randomness, whatever the thread count.
RandomStream member_stream(uint64_t seed, uint64_t stage, int64_t member);

// Writes the normalised leaf likelihood of a token whose true value is 0, seen
// through the channel at `noise` (ε, or ᾱ for gaussian), into `leaf` (v values).
// The same stream gives coupled draws at different noise levels.
void draw_leaf_message(const NoiseSpec& noise, int v, RandomStream& random, std::span<double> leaf);

// Upward rule of SPEC §3 through `children_table` (n_parents·m productions of s
// children): parent(a) = Σ_r Π_j child_j(b_j), normalised. Throws Error when
// every term underflows.
void combine_upward(std::span<const uint32_t> children_table, int n_parents, int m, int s,
                    const double* const* child, std::span<double> parent);

// Downward rule of SPEC §3 for the child in position 0: out(b) = Σ_a w(a)
// Σ_{r: b_0 = b} Π_{k≥1} sibling_k(b_k), normalised; sibling[k-1] is the upward
// message of the child in position k.
void combine_downward(std::span<const uint32_t> children_table, int n_parents, int m, int s,
                      std::span<const double> parent_down, const double* const* sibling, std::span<double> out);

// The normalised product u·w at symbol 0: the marginal of the true value.
double true_marginal(std::span<const double> up, std::span<const double> down);

}  // namespace hdiff
