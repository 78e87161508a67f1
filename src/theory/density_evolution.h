#pragma once
// Density evolution (population dynamics) on the annealed RHM tree (SPEC §5):
// the predicted posterior mass on the true value at every level of a tree of
// depth L, and the flow of the class information with the number of levels.
//
// The annealed tree draws a fresh production table at every node. All true
// symbols are labelled 0. A member of the upward population at height k (k
// levels above the leaves) is the upward message of a node whose subtree has k
// levels; a member of the downward population at depth d is the downward message
// of a node at depth d. The downward message of a child in position 0 is a
// function of its parent's downward message, its s−1 siblings' upward messages
// and the parent's table; in the annealed tree these three are independent (the
// parent's downward message depends only on what lies above and beside the
// parent, the siblings' messages only on their own subtrees), and each is drawn
// in the frame where the true symbols are 0, with the table giving (0,…,0) to
// symbol 0. A node's own upward message is independent of its downward message
// for the same reason, so the marginal ∝ u·w pairs independent members.

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "noise/channel.h"
#include "theory/population.h"

namespace hdiff {

// The model and the population; the noise level is given per call.
struct TheoryParams {
  int v = 32;                    // vocabulary of levels 1..L
  int n_classes = 32;            // classes (root symbols)
  int m = 8;                     // productions per symbol
  int s = 2;                     // children per production
  Channel channel = Channel::uniform;
  int64_t population = 100000;   // members per level
  int replicas = 16;             // independent replicas the population is split into
  uint64_t seed = 0;             // seed of all population draws
};

// Checks the parameters (as for a grammar) and the population; Error naming the fix.
void validate(const TheoryParams& params);

// The predicted mean posterior mass on the true value at one level of a tree of depth L.
struct LevelPrediction {
  int L = 0;
  int level = 0;                 // 0 = class … L = tokens
  double posterior_mass = 0;
  double posterior_mass_se = 0;  // standard error from the finite population
};

// Predictions for every depth in `depths` and every level 0..L, at noise
// `level` (ε, or ᾱ for gaussian); rows ordered by L then level.
std::vector<LevelPrediction> predict_levels(const TheoryParams& params, double noise_level, std::span<const int> depths);

// Bytes predict_levels needs for the deepest L, for a memory check before the work.
double prediction_bytes(const TheoryParams& params, int max_depth);

// One upward level of the flow: the mean of u(0) over the population at height
// k, and its standard error.
struct FlowPoint {
  int height = 0;
  PopulationMean true_mass;
  std::vector<double> replica_true_mass;  // mean u(0) within each replica
};

// Iterates the upward map through internal levels (v symbols, as in an
// infinitely deep tree) from the leaves at `noise_level`; calls `keep_going`
// after every level (height 0 = leaves) and stops when it returns false or after
// `max_height` levels. Returns the points visited. `keep_going` may also set
// frozen[r] (one entry per replica): replica r is no longer iterated, its
// members stay as they are, and the other replicas' draws do not change.
std::vector<FlowPoint> upward_flow(
    const TheoryParams& params, double noise_level, int max_height,
    const std::function<bool(const FlowPoint&, std::vector<bool>& frozen)>& keep_going = {});

}  // namespace hdiff
