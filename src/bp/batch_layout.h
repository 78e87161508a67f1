#pragma once
// Internal to src/bp: the memory layout of the batch BP path (batch_bp.h), read
// by the passes (batch_bp.cpp, batch_marginals.cpp, batch_sampling.cpp,
// batch_plan.cpp) and the vector kernels (batch_kernels.h). Code outside src/bp
// makes a BatchPlan and BatchMessages and hands them to the functions of
// batch_bp.h; it reads none of their fields (the tests of src/bp excepted), so
// the layout may change without touching any caller.
//
// Messages are float32, laid out [node][symbol][lane] in LaneBlocks of
// kBatchLanes values; each node's normaliser is kept per lane in double.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bp/belief_propagation.h"
#include "common/huge_pages.h"
#include "grammar/grammar.h"
#include "noise/channel.h"

namespace hdiff {

// Samples per batch: one per float32 lane of a 512-bit vector (two AVX2 registers).
// Each production's child indices are loaded once for all lanes, so wider batches
// need fewer loads per sample.
inline constexpr int kBatchLanes = 16;

// A node total, root evidence or marginal normaliser below this (of a message
// whose inputs sum to 1) sends the lane to the double path: above it, values that
// float32 flushes to zero change the result by under 1e-10 relative.
inline constexpr float kFloatFloor = 1e-25f;

// The longest lists of productions per leaf symbol that are padded (BatchPlan::leaf_padded_parents).
inline constexpr int kPaddedLeafList = 32;

// BatchPlan::leaf_pair_parent of a tuple that no production has.
inline constexpr uint32_t kNoParent = UINT32_MAX;

// One float32 value per lane, aligned to a cache line.
struct alignas(64) LaneBlock {
  float value[kBatchLanes];
};

// A range of nodes of one level: the unit of work of the passes.
struct NodeRange {
  int level = 0;
  int64_t first = 0;
  int64_t count = 0;
};

// One level's productions, rearranged for the batch kernels.
struct BatchLevelPlan {
  int n_parents = 0;
  int n_children = 0;
  int m = 0;
  int s = 0;
  std::vector<uint32_t> rules;  // (n_parents·m)·s children, production p = a·m + r (as in ProductionTable)
  // For s = 2: each production's children as byte offsets of their blocks from
  // the node's first child block (left b: b·64, right c: (n_children + c)·64), so
  // that the kernels address them without arithmetic.
  std::vector<uint32_t> rule_offsets;
  // For s = 2 and at most 32 parent symbols: rules and rule_offsets rearranged
  // by (2r + j)·32 + a (rows padded to 32), so that a vector sampler looks up
  // the productions of 16 lanes' parent symbols with one permutation.
  std::vector<uint32_t> rules_by_symbol;
  std::vector<uint32_t> rule_offsets_by_symbol;
  // Downward gather lists for s > 2, per child position j and child symbol b: the
  // productions with b_j = b, entries [start[j·(n_children+1) + b], … + b + 1).
  std::vector<uint32_t> down_start;
  std::vector<uint32_t> down_entries;
  // For s = 2, per child position j: the child symbols in order of their list
  // length (down_order, n_children per j), runs of equal length (down_runs: pairs
  // (length, symbols), per j until a run of 0 symbols) and the lists in that
  // order (down_pair_offsets: (parent a, other child's symbol) per entry, as byte
  // offsets a·64 and symbol·64 of their blocks). Equal lengths
  // in a row keep the inner loop's branch predictable.
  std::vector<uint32_t> down_order;
  std::vector<uint32_t> down_runs;
  std::vector<uint32_t> down_pair_offsets;
};

// Everything the fast path derives from a grammar and a noise setting; built
// once and shared by threads.
struct BatchPlan {
  // Plans for `grammar` (kept by reference: it must outlive the plan) with leaves
  // from `noise`; `prior` over classes, empty for uniform (copied).
  BatchPlan(const Grammar& grammar, const NoiseSpec& noise, std::span<const double> prior = {});

  const Grammar* grammar = nullptr;
  NoiseSpec noise;
  std::vector<double> prior;  // n_classes values (uniform filled in)
  std::vector<BatchLevelPlan> levels;
  std::vector<int64_t> block_offset;  // first LaneBlock of level ℓ = 0..L+1 in the message arrays
  std::vector<int64_t> node_offset;   // first node of level ℓ = 0..L+1 (tree order)
  std::vector<int> symbols;           // n_ℓ for ℓ = 0..L
  // The order the passes visit nodes in: the levels of each bottom subtree of a
  // height that fits in L2 one after the other, so that a level reads what the
  // previous one wrote from cache, and the levels above those subtrees whole.
  // Upward: parents computed per range; downward and sampling: children of the
  // range's nodes.
  std::vector<NodeRange> upward_order;
  std::vector<NodeRange> downward_order;
  // The level the bottom subtrees are rooted at, and where a level ℓ below it
  // lies in the window that holds one bottom subtree's downward messages (ℓ ≤ it: -1):
  // blocks of node i of level ℓ from window_block_offset[ℓ] + (i mod s^(ℓ - subtree_level))·n_ℓ,
  // its 1/Σ u·w at window_node_offset[ℓ] + (i mod s^(ℓ - subtree_level)).
  int subtree_level = 0;
  std::vector<int64_t> window_block_offset;  // ℓ = 0..L+1 (L+1: the window's size)
  std::vector<int64_t> window_node_offset;   // ℓ = 0..L+1
  // Token channels with s = 2: the normalised upward message of a level-(L-1)
  // node for every pair of observed children (o_0, o_1) ∈ [v+1]² (v = MASK),
  // its normaliser's log, and whether the pair is possible at all.
  bool pair_table = false;
  std::vector<float> pair_up;         // (v+1)² × n_parents of level L-1
  std::vector<double> pair_log_total;
  std::vector<uint8_t> pair_possible;
  // With the pair table, leaves are never stored as messages (the leaf level of
  // `up` and `down` is not even allocated): a leaf observed as token o < v has
  // likelihood leaf_high at a = o and leaf_low elsewhere, and leaf_masked
  // everywhere when o = MASK (the float values a stored leaf would hold). A leaf's
  // marginal is computed when it is read, from its parent's downward message w:
  // p(b) = u(b)·Σ_{(a, c)} w(a)·u_sibling(c) / (Σ_a u_parent(a)·w(a) · T), where T
  // normalises the parent's pair-table row and the sum runs over the productions
  // a → (b, c) of child position j (a → (c, b) for j = 1). The sibling's
  // likelihood is u_1 at its observed token o and u_0 elsewhere, and the grammar
  // is unambiguous, so the sum is u_0·Σ_a w(a) over those productions' parents
  // (leaf_parents, [leaf_start[j·v + b], leaf_start[j·v + b + 1])) plus
  // (u_1 - u_0)·w(a') for the one production a' → (b, o), if any
  // (leaf_pair_parent).
  // With the pair table, L ≥ 2 and a level L-1 too large for cache (deep
  // trees), that level's upward messages are not stored either: a lane's
  // upward message at node i of level L-1 is the pair_up row of its two
  // observed children (pair_up_row), which the passes copy into lane blocks
  // (BatchMessages::pair_blocks) where a kernel needs them.
  bool virtual_pair_level = false;
  float leaf_low = 0, leaf_high = 0, leaf_masked = 0;
  std::vector<uint32_t> leaf_start;
  std::vector<uint32_t> leaf_parents;
  // The parent of each tuple (o_0, o_1) ∈ [v+1]² of level L-1's productions, at
  // o_0·(v+1) + o_1, or kNoParent (always where o_0 or o_1 is MASK).
  std::vector<uint32_t> leaf_pair_parent;
  // The same lists padded to leaf_list_length entries (even, ≤ kPaddedLeafList;
  // 0 where a list is longer: then there are none) with 0, so that a pass
  // runs through every list without a data-dependent branch, and per list, for
  // t < leaf_list_length, leaf_active[leaf_list_length - length + t] = [t < length].
  int leaf_list_length = 0;
  std::vector<uint32_t> leaf_padded_parents;  // list q = j·v + b at q·leaf_list_length
  std::vector<double> leaf_active;            // leaf_list_length ones, then as many zeros
  std::vector<double> pair_inverse_total;  // 1/T of each pair table row
};

// The likelihood of symbol a at a leaf observed as token o, under a plan with the pair table.
inline float spike_leaf_value(const BatchPlan& plan, uint32_t o, uint32_t a) {
  if (o == mask_token(plan.grammar->params.v)) return plan.leaf_masked;
  return o == a ? plan.leaf_high : plan.leaf_low;
}

// Lane blocks of a whole tree (huge pages where they are large).
using LaneBlocks = std::vector<LaneBlock, HugePageAllocator<LaneBlock>>;

// Messages and per-lane results of one batch; reused from batch to batch.
struct BatchMessages {
  explicit BatchMessages(const BatchPlan& plan);

  int lanes = 0;                    // lanes loaded: load lanes 0, 1, … in order
  LaneBlocks up;                    // upward messages, [node][symbol] blocks by level (no leaves with the pair
                                    // table, and no level L-1 where it is virtual)
  std::vector<LaneBlock> pair_blocks;  // a virtual level L-1's messages of the nodes a pass works on
  LaneBlocks down;                  // downward messages
  LaneBlocks inverse_mass;          // per node: 1 / Σ_a u(a)·w(a)
  // Where a pass keeps no deep downward messages (deep_down_kept false): those
  // below plan.subtree_level, and their 1/Σ u·w, of the bottom subtree it visits.
  std::vector<LaneBlock> down_window;
  std::vector<LaneBlock> inverse_mass_window;
  std::vector<uint32_t, HugePageAllocator<uint32_t>> tokens;  // token channels: observed tokens, lane-major (lane·lane_stride + i)
  std::vector<double, HugePageAllocator<double>> likelihoods;   // otherwise: normalised leaf likelihoods, lane-major (lane·lane_stride + i·v + a)
  // d (tokens) or d·v (likelihoods) and a cache line more: lanes' rows a power of
  // two apart would share cache sets and evict each other where a pass reads
  // all lanes at one position.
  int64_t lane_stride = 0;
  double leaf_log_scale[kBatchLanes] = {};
  double log_evidence[kBatchLanes] = {};
  double scale_mantissa[kBatchLanes] = {};   // running product of node totals …
  int64_t scale_exponent[kBatchLanes] = {};  // … as mantissa · 2^exponent
  int32_t fallback[kBatchLanes] = {};        // nonzero: this lane uses the double path
  bool downward_done = false;
  // False after batch_downward_sample_and_mass: the marginals of lanes on the
  // fast path are then not available (they were summed in the pass).
  bool deep_down_kept = true;
  std::vector<std::string> errors;           // per lane; empty when the lane is fine
  std::vector<std::unique_ptr<TreeMessages>> reference;  // the double path, per fallback lane
};

// The pair (o_0, o_1) that lane observed below node i of level L-1, as an index
// o_0·(v+1) + o_1 of the pair table's rows.
inline size_t observed_pair(const BatchPlan& plan, const BatchMessages& batch, int lane, int64_t i) {
  const uint32_t* observed = batch.tokens.data() + lane * batch.lane_stride + 2 * i;
  return static_cast<size_t>(observed[0]) * static_cast<size_t>(plan.grammar->params.v + 1) + observed[1];
}

// The pair_up row that is lane's upward message at node i of level L-1, under a plan with the pair table.
inline const float* pair_up_row(const BatchPlan& plan, const BatchMessages& batch, int lane, int64_t i) {
  return plan.pair_up.data() + observed_pair(plan, batch, lane, i) * static_cast<size_t>(plan.symbols[plan.symbols.size() - 2]);
}

}  // namespace hdiff
