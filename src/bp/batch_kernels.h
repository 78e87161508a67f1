#pragma once
// Internal to src/bp: helpers shared by the batch files, and the vector kernels
// of the batch BP path, compiled once per instruction set (batch_kernels_avx512.cpp,
// batch_kernels_avx2.cpp, batch_kernels_generic.cpp) from batch_kernels_impl.h and
// chosen at run time. It reads the layout (batch_layout.h), never the API
// (batch_bp.h): the files that implement the API include both, so the include
// arrows run one way, batch_bp.h → batch_layout.h ← batch_kernels.h.

#include <cstdint>
#include <vector>

#include "bp/batch_layout.h"

namespace hdiff::batch_detail {

// Running per-lane product of node totals and the lanes to send to the double path.
struct LaneState {
  double* mantissa;   // kBatchLanes
  int64_t* exponent;  // kBatchLanes
  int32_t* fallback;  // kBatchLanes
};

// Channels whose observations are tokens (uniform, mask, soft), as opposed to values.
inline bool token_channel(Channel channel) { return channel != Channel::gaussian; }

// A leaf's likelihood c + spike·[a = o] for observed token o (o = v: MASK), normalised.
struct SpikeLeaf {
  double constant;
  double spike;
};
inline SpikeLeaf spike_leaf(const NoiseSpec& noise, int v, uint32_t o) {
  if (o == mask_token(v)) return {1.0 / v, 0.0};
  if (noise.channel == Channel::mask) return {0.0, 1.0};
  return {noise.level / v, 1.0 - noise.level};
}

// The posterior draws of one batch in progress on a vector sampler.
struct LaneDraws {
  uint32_t* symbols = nullptr;             // tree_size × kBatchLanes: node n of lane l at n·kBatchLanes + l
  uint64_t words[4][kBatchLanes] = {};     // each lane's xoshiro256++ state (RandomStream::state_words)
};

// The kernels of one instruction set.
struct Kernels {
  const char* name;
  // Upward messages of `count` parents of one level from their children's
  // messages (both normalised), folding every parent total into `state`.
  void (*upward)(const BatchLevelPlan& level, int64_t count, const LaneBlock* children, LaneBlock* parents,
                 LaneState state);
  // out[a].value[l] = rows[l][a] for a < n and every lane: rows of the pair table
  // into lane blocks.
  void (*transpose_rows)(const float* const* rows, int n, LaneBlock* out);
  // Downward messages of the children of `count` parents and 1/Σ u·w of every child.
  void (*downward)(const BatchLevelPlan& level, int64_t count, const LaneBlock* parent_down, const LaneBlock* child_up,
                   LaneBlock* child_down, LaneBlock* child_inverse_mass, int32_t* fallback);
  // The posterior draws of the children of one range of nodes (s = 2) for every
  // lane at once, from their parents' drawn symbols in `draws`, one uniform per
  // lane and node; the same draws as the scalar sampler makes lane by lane.
  // nullptr where the set has none (then sampling runs lane by lane).
  void (*sample_range)(const BatchPlan& plan, const BatchMessages& batch, const NodeRange& range, bool prefetch,
                       LaneDraws& draws);
};

// The downward pass in pieces (batch_bp.cpp), shared with the pass that
// samples as it goes (batch_sampling.cpp): the root; the children of one range
// of nodes; and the lanes sent to the double path, given the lanes that were
// on it before (`before`, kBatchLanes flags).
void downward_root(const BatchPlan& plan, BatchMessages& batch);
void downward_range(const BatchPlan& plan, BatchMessages& batch, const NodeRange& range);
void finish_downward(const BatchPlan& plan, BatchMessages& batch, const int32_t* before);

// Where the downward blocks of node i of `level` lie (and those of the nodes
// after it in a range), with its 1/Σ u·w: in the tree's arrays, or in the
// window where the pass keeps no deep messages.
struct DownPlace {
  bool window;
  int64_t block;  // in down or down_window
  int64_t node;   // in inverse_mass or inverse_mass_window
};
inline DownPlace down_place(const BatchPlan& plan, const BatchMessages& batch, int level, int64_t i) {
  const auto l = static_cast<size_t>(level);
  if (batch.deep_down_kept || level <= plan.subtree_level)
    return {false, plan.block_offset[l] + i * plan.symbols[l], plan.node_offset[l] + i};
  const int64_t local = i % nodes_at_level(plan.grammar->params, level - plan.subtree_level);
  return {true, plan.window_block_offset[l] + local * plan.symbols[l], plan.window_node_offset[l] + local};
}
template <class Batch>
auto* down_blocks(Batch& batch, const DownPlace& place) {
  return place.window ? batch.down_window.data() + place.block : batch.down.data() + place.block;
}
template <class Batch>
auto* inverse_mass_blocks(Batch& batch, const DownPlace& place) {
  return place.window ? batch.inverse_mass_window.data() + place.node : batch.inverse_mass.data() + place.node;
}

// Adds to `mass`, in node order, p(z_ℓ,i = symbols[i - first] | obs) of nodes
// first … first + count - 1 of `level` for a lane on the fast path, after their
// downward messages are computed (at the leaves under the pair table: after
// their parents'); returns the sum.
double add_level_mass(const BatchPlan& plan, const BatchMessages& batch, int lane, int level, int64_t first,
                      int64_t count, const uint32_t* symbols, double mass);

// mass[l] += p(z_i = symbols[k·kBatchLanes + l] | obs) for every lane l and
// node i = k < count of a level of n symbols, in node order, from the nodes'
// upward and downward blocks and 1/Σ u·w: add_level_mass on every lane at once,
// for symbols the caller has checked (< n). (Gathering the 16 lanes' values with
// AVX-512 was no faster.)
void add_node_masses(int n, int64_t count, const LaneBlock* up, const LaneBlock* down, const LaneBlock* inverse_mass,
                     const uint32_t* symbols, double* mass);
// The same for the 2·count leaves below nodes first … first + count - 1 of
// level L-1 under the pair table (symbols of leaf 2·first + k at
// k·kBatchLanes + l), from the parents' downward blocks and 1/Σ u·w.
void add_leaf_masses(const BatchPlan& plan, const BatchMessages& batch, int64_t first, int64_t count,
                     const LaneBlock* parent_down, const LaneBlock* parent_inverse_mass, const uint32_t* symbols,
                     double* mass);

Kernels generic_kernels();
#if defined(HDIFF_X86_KERNELS)
Kernels avx2_kernels();
Kernels avx512_kernels();
void avx512_sample_range(const BatchPlan& plan, const BatchMessages& batch, const NodeRange& range, bool prefetch,
                         LaneDraws& draws);

#endif
// Makes a plan with the pair table and L ≥ 2 keep level L-1 virtual (true) or
// stored (false), before any BatchMessages is made for it; for tests.
void set_virtual_pair_level(BatchPlan& plan, bool virtual_level);

// The kernel set the passes run with now.
const Kernels& active_kernels();
// Every kernel set this machine can run, the portable one first.
const std::vector<Kernels>& available_kernels();
// Makes every later pass use the kernel set named `name` (one of
// available_kernels), or the machine's best for nullptr; for tests.
void force_kernels(const char* name);

}  // namespace hdiff::batch_detail
