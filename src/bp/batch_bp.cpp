#include "bp/batch_bp.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <numbers>
#include <string_view>

#include "bp/batch_kernels.h"
#include "common/error.h"

namespace hdiff {
namespace {

using batch_detail::Kernels;
using batch_detail::spike_leaf;
using batch_detail::SpikeLeaf;
using batch_detail::token_channel;
using batch_detail::downward_range;
using batch_detail::down_blocks;
using batch_detail::down_place;
using batch_detail::DownPlace;
using batch_detail::downward_root;
using batch_detail::finish_downward;
using batch_detail::inverse_mass_blocks;

// The kernel set named `name` among those this machine can run, or nullptr.
const Kernels* find_kernels(std::string_view name) {
  for (const Kernels& k : batch_detail::available_kernels())
    if (name == k.name) return &k;
  return nullptr;
}

// The kernels for this machine: the widest it runs, or the set HDIFF_BATCH_KERNELS
// names (generic, avx2, avx512) when the machine runs it.
const Kernels& best_kernels() {
  static const Kernels* chosen = [] {
    const char* forced = std::getenv("HDIFF_BATCH_KERNELS");
    if (forced != nullptr)
      if (const Kernels* k = find_kernels(forced)) return k;
    return &batch_detail::available_kernels().back();
  }();
  return *chosen;
}

std::atomic<const Kernels*> forced_kernels{nullptr};

// Fills unloaded lanes with lane 0's observation, so that they compute harmless numbers.
void fill_unused_lanes(const BatchPlan& plan, BatchMessages& batch) {
  const auto& p = plan.grammar->params;
  const int64_t d = sequence_length(p);
  for (int l = batch.lanes; l < kBatchLanes; ++l) {
    if (token_channel(plan.noise.channel))
      std::copy(batch.tokens.begin(), batch.tokens.begin() + d, batch.tokens.begin() + l * batch.lane_stride);
    else
      std::copy(batch.likelihoods.begin(), batch.likelihoods.begin() + d * p.v, batch.likelihoods.begin() + l * batch.lane_stride);
    batch.leaf_log_scale[l] = batch.leaf_log_scale[0];
  }
}

// Leaves [first, first + count) of `up` from the lanes' observations.
void fill_leaves(const BatchPlan& plan, BatchMessages& batch, int64_t first, int64_t count) {
  const auto& p = plan.grammar->params;
  const int v = p.v;
  LaneBlock* leaves = batch.up.data() + plan.block_offset[static_cast<size_t>(p.L)];
  if (token_channel(plan.noise.channel)) {
    for (int64_t i = first; i < first + count; ++i) {
      uint32_t token[kBatchLanes];
      float low[kBatchLanes], high[kBatchLanes];
      for (int l = 0; l < kBatchLanes; ++l) {
        token[l] = batch.tokens[static_cast<size_t>(l * batch.lane_stride + i)];
        const SpikeLeaf leaf = spike_leaf(plan.noise, v, token[l]);
        low[l] = static_cast<float>(leaf.constant);
        high[l] = static_cast<float>(leaf.constant + leaf.spike);
      }
      LaneBlock* leaf = leaves + i * v;
      for (int b = 0; b < v; ++b)
        for (int l = 0; l < kBatchLanes; ++l) leaf[b].value[l] = token[l] == static_cast<uint32_t>(b) ? high[l] : low[l];
    }
  } else {
    const double* values = batch.likelihoods.data();
    for (int64_t i = first; i < first + count; ++i)
      for (int b = 0; b < v; ++b)
        for (int l = 0; l < kBatchLanes; ++l)
          leaves[i * v + b].value[l] = static_cast<float>(values[static_cast<size_t>(l * batch.lane_stride + i * v + b)]);
  }
}

// Nodes [first, first + count) of level L-1 from the pair table into `out`
// (count·n blocks): each lane copies the row of its two observed children.
// With `pair_log`, adds the rows' normalisers' logs and sends lanes whose pair
// is impossible to the double path.
void pair_level(const BatchPlan& plan, BatchMessages& batch, int64_t first, int64_t count, LaneBlock* out,
                double* pair_log) {
  const auto& p = plan.grammar->params;
  const int n = plan.levels[static_cast<size_t>(p.L - 1)].n_parents;
  const float* rows[kBatchLanes];
  for (int64_t i = first; i < first + count; ++i) {
    for (int l = 0; l < kBatchLanes; ++l) {
      const size_t pair = observed_pair(plan, batch, l, i);
      rows[l] = plan.pair_up.data() + pair * n;
      if (pair_log != nullptr) {
        pair_log[l] += plan.pair_log_total[pair];
        batch.fallback[l] |= plan.pair_possible[pair] == 0;
      }
    }
    batch_detail::active_kernels().transpose_rows(rows, n, out + (i - first) * n);
  }
}

// Runs the double path's upward pass for lane l (the lane's error is kept).
void reference_upward(const BatchPlan& plan, BatchMessages& batch, int l) {
  const auto& p = plan.grammar->params;
  const int64_t d = sequence_length(p);
  auto& reference = batch.reference[static_cast<size_t>(l)];
  if (!reference) reference = std::make_unique<TreeMessages>(p);
  try {
    if (token_channel(plan.noise.channel)) {
      reference->leaf_log_scale =
          token_likelihoods(plan.noise, p.v, {batch.tokens.data() + l * batch.lane_stride, static_cast<size_t>(d)}, reference->leaves());
    } else {
      const auto leaves = reference->leaves();
      std::copy_n(batch.likelihoods.begin() + l * batch.lane_stride, d * p.v, leaves.begin());
      reference->leaf_log_scale = batch.leaf_log_scale[l];
    }
    upward_messages(*plan.grammar, *reference, plan.prior);
    batch.log_evidence[l] = reference->log_evidence;
  } catch (const Error& e) {
    batch.errors[static_cast<size_t>(l)] = e.what();
  }
}

}  // namespace

const char* batch_kernel_name() { return batch_detail::active_kernels().name; }

const Kernels& batch_detail::active_kernels() {
  const Kernels* forced = forced_kernels.load(std::memory_order_relaxed);
  return forced != nullptr ? *forced : best_kernels();
}

const std::vector<Kernels>& batch_detail::available_kernels() {
  static const std::vector<Kernels> sets = [] {
    std::vector<Kernels> found{generic_kernels()};
#if defined(HDIFF_X86_KERNELS)
    if (__builtin_cpu_supports("avx2")) found.push_back(avx2_kernels());
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
      found.push_back(avx512_kernels());
#endif
    return found;
  }();
  return sets;
}

void batch_detail::force_kernels(const char* name) {
  if (name == nullptr) {
    forced_kernels.store(nullptr);
    return;
  }
  const Kernels* k = find_kernels(name);
  HDIFF_CHECK(k != nullptr);
  forced_kernels.store(k);
}

BatchMessages::BatchMessages(const BatchPlan& plan) : errors(kBatchLanes), reference(kBatchLanes) {
  const auto& p = plan.grammar->params;
  const auto blocks = static_cast<size_t>(plan.block_offset.back());
  const size_t without_leaves = static_cast<size_t>(plan.block_offset[static_cast<size_t>(p.L)]);
  up.resize(plan.virtual_pair_level ? static_cast<size_t>(plan.block_offset[static_cast<size_t>(p.L) - 1])
            : plan.pair_table      ? without_leaves
                                   : blocks);
  down.resize(plan.pair_table ? without_leaves : blocks);
  if (plan.virtual_pair_level) {
    // Room for the children of the largest range of level L-2 that a pass visits.
    int64_t widest = 0;
    for (const auto* order : {&plan.upward_order, &plan.downward_order})
      for (const NodeRange& range : *order)
        if (range.level == p.L - 2) widest = std::max(widest, range.count);
    pair_blocks.resize(static_cast<size_t>(widest * p.s * plan.symbols[static_cast<size_t>(p.L) - 1]));
  }
  inverse_mass.resize(static_cast<size_t>(tree_size(p)));
  down_window.resize(static_cast<size_t>(plan.window_block_offset.back()));
  inverse_mass_window.resize(static_cast<size_t>(plan.window_node_offset.back()));
  const int64_t d = sequence_length(p);
  if (token_channel(plan.noise.channel)) {
    lane_stride = d + 64 / static_cast<int64_t>(sizeof(uint32_t));
    tokens.resize(static_cast<size_t>(kBatchLanes * lane_stride));
  } else {
    lane_stride = d * p.v + 64 / static_cast<int64_t>(sizeof(double));
    likelihoods.resize(static_cast<size_t>(kBatchLanes * lane_stride));
  }
}

void load_tokens(const BatchPlan& plan, BatchMessages& batch, std::span<const uint32_t> observed) {
  const auto& p = plan.grammar->params;
  const int64_t d = sequence_length(p);
  if (!token_channel(plan.noise.channel)) fail("the {} channel takes values, not tokens", channel_name(plan.noise.channel));
  if (batch.lanes >= kBatchLanes) fail("the batch is full ({} lanes)", kBatchLanes);
  if (observed.size() != static_cast<size_t>(d)) fail("{} tokens given; the grammar's strings have {}", observed.size(), d);
  const int v = p.v;
  const bool mask = plan.noise.channel == Channel::mask;
  // One pass without branches (the compiler vectorises it), then the first bad
  // position only if there is one.
  const uint32_t largest_valid = mask ? mask_token(v) : static_cast<uint32_t>(v - 1);
  uint32_t largest = 0;
  int64_t masked = 0;
  for (const uint32_t o : observed) {
    largest = std::max(largest, o);
    masked += o == mask_token(v);
  }
  if (largest > largest_valid) {
    const auto bad = static_cast<size_t>(
        std::find_if(observed.begin(), observed.end(), [&](uint32_t o) { return o > largest_valid; }) - observed.begin());
    // The words of token_likelihoods, so that both paths report the same error.
    if (mask)
      fail("token {} at position {} is out of range; with the mask channel tokens lie in [0, {}] ({} = MASK)",
           observed[bad], bad, v, v);
    fail("token {} at position {} is out of range; tokens lie in [0, {}]", observed[bad], bad, v - 1);
  }
  // As token_likelihoods sums it: log v once per masked token, in order (the
  // same bits; the logarithm is taken once).
  double log_scale = 0;
  const double log_v = std::log(static_cast<double>(v));
  if (mask)
    for (int64_t k = 0; k < masked; ++k) log_scale += log_v;
  const int l = batch.lanes++;
  std::copy(observed.begin(), observed.end(), batch.tokens.begin() + l * batch.lane_stride);
  batch.leaf_log_scale[l] = log_scale;
}

void load_likelihoods(const BatchPlan& plan, BatchMessages& batch, std::span<const double> likelihoods, double log_scale) {
  const auto& p = plan.grammar->params;
  const int64_t size = sequence_length(p) * p.v;
  if (token_channel(plan.noise.channel)) fail("the {} channel takes tokens", channel_name(plan.noise.channel));
  if (batch.lanes >= kBatchLanes) fail("the batch is full ({} lanes)", kBatchLanes);
  if (likelihoods.size() != static_cast<size_t>(size)) fail("{} leaf likelihoods given; need d·v = {}", likelihoods.size(), size);
  const int l = batch.lanes++;
  std::copy(likelihoods.begin(), likelihoods.end(), batch.likelihoods.begin() + l * batch.lane_stride);
  batch.leaf_log_scale[l] = log_scale;
}

void load_gaussian(const BatchPlan& plan, BatchMessages& batch, std::span<const double> values) {
  const auto& p = plan.grammar->params;
  const int64_t size = sequence_length(p) * p.v;
  if (plan.noise.channel != Channel::gaussian) fail("load_gaussian needs the gaussian channel");
  if (batch.lanes >= kBatchLanes) fail("the batch is full ({} lanes)", kBatchLanes);
  if (values.size() != static_cast<size_t>(size)) fail("{} gaussian values given; need d·v = {}", values.size(), size);
  // The lane counts as loaded only once its likelihoods are (a value out of range throws).
  const int l = batch.lanes;
  batch.leaf_log_scale[l] = gaussian_likelihoods(
      plan.noise, p.v, values, {batch.likelihoods.data() + l * batch.lane_stride, static_cast<size_t>(size)});
  ++batch.lanes;
}

void batch_upward(const BatchPlan& plan, BatchMessages& batch) {
  const auto& p = plan.grammar->params;
  if (batch.lanes == 0) return;
  batch.downward_done = false;
  for (int l = 0; l < kBatchLanes; ++l) {
    batch.errors[static_cast<size_t>(l)].clear();
    batch.fallback[l] = 0;
    batch.scale_mantissa[l] = 1.0;
    batch.scale_exponent[l] = 0;
  }
  fill_unused_lanes(plan, batch);
  double pair_log[kBatchLanes] = {};
  const batch_detail::LaneState state{batch.scale_mantissa, batch.scale_exponent, batch.fallback};
  // A virtual level L-1: the nodes in pair_blocks, [window_first, window_first + window_count).
  int64_t window_first = 0, window_count = 0;
  for (const NodeRange& range : plan.upward_order) {
    const auto level = static_cast<size_t>(range.level);
    const BatchLevelPlan& level_plan = plan.levels[level];
    if (range.level == p.L - 1) {
      if (plan.virtual_pair_level) {
        if (window_count == 0) window_first = range.first;
        HDIFF_CHECK(range.first == window_first + window_count);
        HDIFF_CHECK(static_cast<size_t>((window_count + range.count) * level_plan.n_parents) <= batch.pair_blocks.size());
        pair_level(plan, batch, range.first, range.count, batch.pair_blocks.data() + window_count * level_plan.n_parents,
                   pair_log);
        window_count += range.count;
        continue;
      }
      if (plan.pair_table) {
        pair_level(plan, batch, range.first, range.count, batch.up.data() + plan.block_offset[level] + range.first * level_plan.n_parents,
                   pair_log);
        continue;
      }
      fill_leaves(plan, batch, range.first * p.s, range.count * p.s);
    }
    const LaneBlock* children = batch.up.data() + plan.block_offset[level + 1] + range.first * p.s * level_plan.n_children;
    if (plan.virtual_pair_level && range.level == p.L - 2) {
      // The children are the window's nodes.
      HDIFF_CHECK(range.first * p.s >= window_first && (range.first + range.count) * p.s <= window_first + window_count);
      children = batch.pair_blocks.data() + (range.first * p.s - window_first) * level_plan.n_children;
      window_count = 0;
    }
    batch_detail::active_kernels().upward(level_plan, range.count, children,
                                          batch.up.data() + plan.block_offset[level] + range.first * level_plan.n_parents,
                                          state);
  }
  const double log_m = static_cast<double>(internal_nodes(p)) * std::log(static_cast<double>(p.m));
  for (int l = 0; l < batch.lanes; ++l) {
    double evidence = 0;
    for (int y = 0; y < p.n_classes; ++y) evidence += plan.prior[static_cast<size_t>(y)] * batch.up[static_cast<size_t>(y)].value[l];
    if (!(evidence >= kFloatFloor)) batch.fallback[l] = 1;
    batch.log_evidence[l] = std::log(evidence) + batch.leaf_log_scale[l] + pair_log[l] +
                            static_cast<double>(batch.scale_exponent[l]) * std::numbers::ln2 +
                            std::log(batch.scale_mantissa[l]) - log_m;
    if (batch.fallback[l]) reference_upward(plan, batch, l);
  }
}

// Root of the downward pass: the prior, and 1/Σ prior·u.
void batch_detail::downward_root(const BatchPlan& plan, BatchMessages& batch) {
  const auto& p = plan.grammar->params;
  float mass[kBatchLanes] = {};
  for (int y = 0; y < p.n_classes; ++y) {
    const auto prior = static_cast<float>(plan.prior[static_cast<size_t>(y)]);
    for (int l = 0; l < kBatchLanes; ++l) {
      batch.down[static_cast<size_t>(y)].value[l] = prior;
      mass[l] += prior * batch.up[static_cast<size_t>(y)].value[l];
    }
  }
  for (int l = 0; l < kBatchLanes; ++l) batch.inverse_mass[0].value[l] = 1.0f / mass[l];
}

// The downward messages of the children of one range of nodes.
void batch_detail::downward_range(const BatchPlan& plan, BatchMessages& batch, const NodeRange& range) {
  const auto& p = plan.grammar->params;
  const int s = p.s;
  const auto level = static_cast<size_t>(range.level);
  const BatchLevelPlan& level_plan = plan.levels[level];
  const int64_t children = range.first * s * level_plan.n_children;
  if (plan.pair_table && range.level == p.L - 1) return;  // leaf marginals are computed when read
  const LaneBlock* child_up = batch.up.data() + plan.block_offset[level + 1] + children;
  if (plan.virtual_pair_level && range.level == p.L - 2) {
    pair_level(plan, batch, range.first * s, range.count * s, batch.pair_blocks.data(), nullptr);
    child_up = batch.pair_blocks.data();
  }
  const DownPlace parents = down_place(plan, batch, range.level, range.first);
  const DownPlace children_place = down_place(plan, batch, range.level + 1, range.first * s);
  batch_detail::active_kernels().downward(level_plan, range.count, down_blocks(batch, parents), child_up,
                                          down_blocks(batch, children_place), inverse_mass_blocks(batch, children_place),
                                          batch.fallback);
}

// Lanes sent to the double path by the downward pass get both passes there; the
// others that are already there get the downward one.
void batch_detail::finish_downward(const BatchPlan& plan, BatchMessages& batch, const int32_t* before) {
  for (int l = 0; l < batch.lanes; ++l) {
    if (!batch.fallback[l]) continue;
    if (!before[l]) reference_upward(plan, batch, l);
    if (batch.errors[static_cast<size_t>(l)].empty())
      downward_messages(*plan.grammar, *batch.reference[static_cast<size_t>(l)], plan.prior);
  }
  batch.downward_done = true;
}

void batch_downward(const BatchPlan& plan, BatchMessages& batch) {
  if (batch.lanes == 0) return;
  int32_t before[kBatchLanes];
  std::copy(batch.fallback, batch.fallback + kBatchLanes, before);
  batch.deep_down_kept = true;
  downward_root(plan, batch);
  for (const NodeRange& range : plan.downward_order) downward_range(plan, batch, range);
  finish_downward(plan, batch, before);
}

const std::string& lane_error(const BatchMessages& batch, int lane) { return batch.errors[static_cast<size_t>(lane)]; }

}  // namespace hdiff
