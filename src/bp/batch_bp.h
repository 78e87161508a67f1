#pragma once
// The fast exact BP path (SPEC §3): the public API. kBatchLanes samples of one
// grammar and one channel go through the tree together, one sample per SIMD lane.
//
// Guarantees:
// - Exact BP, no approximation: results agree with the double reference path of
//   belief_propagation.h up to the float32 rounding of the messages (the tests
//   hold marginals to 1e-5 and log-evidences to 1e-6 relative). A lane whose
//   messages come near the float32 range (a node total or a marginal normaliser
//   below kFloatFloor) is recomputed by that path, so a result is never degraded
//   by underflow.
// - Lanes never mix: a sample's numbers do not depend on which lane or batch it
//   is in, nor on the thread count or the instruction set the kernels run with
//   (batch_kernel_name), so results are byte-identical for any batch formation.
// - Posterior draws depend only on the lane's RandomStream: the one-lane, the
//   all-lanes and the fused samplers below make the same draws.
// - Bad observations (a token out of range, an observation of probability zero)
//   are reported per lane (an Error from load_*, lane_error), never by aborting.
//
// Use: one BatchPlan per (grammar, channel, noise level), shared read-only by all
// threads; one BatchMessages per thread, reused from batch to batch:
//   clear_batch, load_tokens / load_likelihoods / load_gaussian for lanes 0..k-1,
//   batch_upward, [batch_downward], then per lane: lane_error, lane_log_evidence,
//   batch_marginal_at / batch_marginals, batch_sample_posterior.
// BatchPlan, BatchMessages and kBatchLanes are defined in batch_layout.h, internal to
// src/bp: callers make them and pass them here, and read none of their fields.

#include <cstdint>
#include <span>
#include <string>

#include "bp/batch_layout.h"
#include "common/error.h"
#include "common/random.h"

namespace hdiff {

// Empties the batch for the next samples (the buffers are kept).
inline void clear_batch(BatchMessages& batch) {
  batch.lanes = 0;
  batch.downward_done = false;
}

// Loads lane `lanes` (then lanes + 1) with a discrete observation (uniform or mask
// channel, d tokens). Tokens out of range are an Error naming the position.
void load_tokens(const BatchPlan& plan, BatchMessages& batch, std::span<const uint32_t> observed);

// Loads the next lane with normalised leaf likelihoods (d × v) whose normalisers'
// logs sum to `log_scale` (as gaussian_likelihoods returns them): for any
// channel whose leaves are not plain tokens.
void load_likelihoods(const BatchPlan& plan, BatchMessages& batch, std::span<const double> likelihoods, double log_scale);

// Loads the next lane with gaussian observations (d × v values).
void load_gaussian(const BatchPlan& plan, BatchMessages& batch, std::span<const double> values);

// Upward pass of every loaded lane: sets the log-evidence, or the lane's error
// when the observation has probability zero. Unloaded lanes are filled and ignored.
void batch_upward(const BatchPlan& plan, BatchMessages& batch);

// Downward pass, after batch_upward; needed by the marginals.
void batch_downward(const BatchPlan& plan, BatchMessages& batch);

// Empty when lane's observation was processed; otherwise the error (as
// upward_messages words it).
const std::string& lane_error(const BatchMessages& batch, int lane);

// log p(obs) of the lane (SPEC §3), after batch_upward.
inline double lane_log_evidence(const BatchMessages& batch, int lane) { return batch.log_evidence[lane]; }

// The two cases of batch_marginal_at that are not inline: p(z_ℓ,i = a | obs)
// for a lane on the double path, and for a leaf of a lane on the fast path under
// a plan with the pair table.
double reference_marginal_at(const BatchPlan& plan, const BatchMessages& batch, int lane, int level, int64_t i,
                             uint32_t a);

double spike_leaf_marginal(const BatchPlan& plan, const BatchMessages& batch, int lane, int64_t i, uint32_t a);

// p(z_ℓ,i = a | obs) for one node of one lane, after batch_downward (inline: it
// is read once per node and sample).
inline double batch_marginal_at(const BatchPlan& plan, const BatchMessages& batch, int lane, int level, int64_t i,
                                uint32_t a) {
  HDIFF_CHECK(batch.downward_done);
  if (batch.fallback[lane]) return reference_marginal_at(plan, batch, lane, level, i, a);
  HDIFF_CHECK(batch.deep_down_kept);
  if (plan.pair_table && level == static_cast<int>(plan.symbols.size()) - 1) return spike_leaf_marginal(plan, batch, lane, i, a);
  const auto at = static_cast<size_t>(plan.block_offset[static_cast<size_t>(level)] +
                                      i * plan.symbols[static_cast<size_t>(level)] + a);
  const float up = plan.virtual_pair_level && level == static_cast<int>(plan.symbols.size()) - 2
                       ? pair_up_row(plan, batch, lane, i)[a]
                       : batch.up[at].value[lane];
  return static_cast<double>(up) * batch.down[at].value[lane] *
         batch.inverse_mass[static_cast<size_t>(plan.node_offset[static_cast<size_t>(level)] + i)].value[lane];
}

// Σ_i p(z_ℓ,i = symbols[i] | obs) over the s^ℓ nodes of one level of one lane
// (e.g. the posterior mass of the true symbols), after batch_downward: the same
// sum as batch_marginal_at node by node, in node order, without its per-call cost.
double batch_level_mass(const BatchPlan& plan, const BatchMessages& batch, int lane, int level,
                        std::span<const uint32_t> symbols);

// All marginals of one level of one lane (s^ℓ × n_ℓ), after batch_downward.
void batch_marginals(const BatchPlan& plan, const BatchMessages& batch, int lane, int level, std::span<double> out);

// Draws one tree of lane from p(tree | obs) into `tree` (tree_size symbols), after batch_upward.
void batch_sample_posterior(const BatchPlan& plan, const BatchMessages& batch, int lane, RandomStream& random,
                            std::span<uint32_t> tree);

// Draws one tree for each of lanes 0 … randoms.size()-1 (lane l from randoms[l]
// into trees[l]), all lanes together: faster than one lane at a time, with the
// same draws. Lanes with an error are skipped.
void batch_sample_posteriors(const BatchPlan& plan, const BatchMessages& batch, std::span<RandomStream> randoms,
                             std::span<const std::span<uint32_t>> trees);

// batch_downward then batch_sample_posteriors in one pass, each block of the
// tree sampled while its messages are in cache: the same results, faster on
// deep trees.
void batch_downward_and_sample(const BatchPlan& plan, BatchMessages& batch, std::span<RandomStream> randoms,
                               std::span<const std::span<uint32_t>> trees);

// batch_downward_and_sample that also sums, for each lane l, the posterior mass
// of the symbols of reference[l] (a tree, e.g. the clean one) level by level:
// level_mass[l·(L+1) + ℓ] = Σ_i p(z_ℓ,i = reference[l][level_offset(ℓ) + i] | obs),
// the same numbers as batch_level_mass, each node's while its messages are in
// cache. The downward messages below plan.subtree_level are not kept (writing
// them to memory bounds deep trees), so the marginals of lanes on the fast path
// are not available afterwards. Lanes with an error get no mass.
void batch_downward_sample_and_mass(const BatchPlan& plan, BatchMessages& batch, std::span<RandomStream> randoms,
                                    std::span<const std::span<uint32_t>> trees,
                                    std::span<const std::span<const uint32_t>> reference, std::span<double> level_mass);

// The instruction set the batch kernels run with on this machine ("avx512", "avx2" or "generic").
const char* batch_kernel_name();

}  // namespace hdiff
