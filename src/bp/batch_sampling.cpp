// Posterior draws on the batch path: node by node, every lane at each node, and
// the pass that computes the downward messages and draws in one sweep.

#include "bp/batch_bp.h"

#include <algorithm>
#include <climits>
#include <functional>
#include <vector>

#include "bp/batch_kernels.h"
#include "common/error.h"

namespace hdiff {

using batch_detail::downward_range;
using batch_detail::downward_root;
using batch_detail::finish_downward;

namespace {

// The index of the production drawn from cumulative weights `weight` (m of them)
// by the uniform `u`: the first whose cumulative weight exceeds u·total, counted
// without branches (a data-dependent exit would be mispredicted at most nodes),
// and never one of weight zero.
inline int draw_production(const double* weight, int m, double u) {
  const double target = u * weight[m - 1];
  int r = 0;
  for (int q = 0; q < m - 1; ++q) r += weight[q] <= target;
  while (r > 0 && weight[r] == weight[r - 1]) --r;
  return r;
}

// The draws at the parents of the leaves of `range` (level L-1) under a plan with
// spike leaves: the children's likelihoods come from the observed tokens.
void sample_spike_leaves(const BatchPlan& plan, const BatchMessages& batch, std::span<const int> lanes,
                         std::span<RandomStream* const> randoms, std::span<const std::span<uint32_t>> trees,
                         const NodeRange& range, std::vector<double>& weight) {
  const BatchLevelPlan& plan_level = plan.levels[static_cast<size_t>(range.level)];
  const int m = plan_level.m;
  const int64_t begin = plan.node_offset[static_cast<size_t>(range.level)];
  const int64_t children_begin = plan.node_offset[static_cast<size_t>(range.level) + 1];
  for (int64_t i = range.first; i < range.first + range.count; ++i)
    for (size_t k = 0; k < lanes.size(); ++k) {
      const uint32_t* observed = batch.tokens.data() + lanes[k] * batch.lane_stride + 2 * i;
      uint32_t* tree = trees[k].data();
      const uint32_t* rules = plan_level.rules.data() + static_cast<size_t>(tree[begin + i]) * m * 2;
      // value[j][c = o_j] without a branch (equality is data-dependent).
      double value[2][2];
      for (int j = 0; j < 2; ++j) {
        value[j][0] = spike_leaf_value(plan, observed[j], observed[j] + 1);
        value[j][1] = spike_leaf_value(plan, observed[j], observed[j]);
      }
      double total = 0;
      for (int r = 0; r < m; ++r)
        weight[static_cast<size_t>(r)] = total +=
            value[0][rules[2 * r] == observed[0]] * value[1][rules[2 * r + 1] == observed[1]];
      const int r = draw_production(weight.data(), m, randoms[k]->uniform());
      tree[children_begin + 2 * i] = rules[2 * r];
      tree[children_begin + 2 * i + 1] = rules[2 * r + 1];
    }
}

// Draws the trees of `lanes` (none of them on the double path) node by node, all
// lanes at each node, so that a node's child messages are read into cache once.
// Each lane draws from its own stream in the same order as a lane drawn alone.
// `before_range` (if given) runs before each range is sampled: the fused pass
// computes the range's downward messages there, while its messages are in cache.
void sample_lanes(const BatchPlan& plan, const BatchMessages& batch, std::span<const int> lanes,
                  std::span<RandomStream* const> randoms, std::span<const std::span<uint32_t>> trees,
                  const std::function<void(const NodeRange&)>& before_range = {}) {
  const auto& p = plan.grammar->params;
  // The reference's draw (SPEC §3) on the lanes' float messages.
  for (size_t k = 0; k < lanes.size(); ++k) {
    const int lane = lanes[k];
    double total = 0;
    for (int y = 0; y < p.n_classes; ++y) total += plan.prior[static_cast<size_t>(y)] * batch.up[static_cast<size_t>(y)].value[lane];
    double target = randoms[k]->uniform() * total;
    int y = 0;
    for (; y < p.n_classes - 1; ++y) {
      target -= plan.prior[static_cast<size_t>(y)] * batch.up[static_cast<size_t>(y)].value[lane];
      if (target < 0) break;
    }
    while (plan.prior[static_cast<size_t>(y)] * batch.up[static_cast<size_t>(y)].value[lane] == 0 && y > 0) --y;
    trees[k][0] = static_cast<uint32_t>(y);
  }
  const batch_detail::Kernels& kernels = batch_detail::active_kernels();
  if (kernels.sample_range != nullptr && p.s == 2 && kBatchLanes * batch.lane_stride <= INT32_MAX) {
    // Every lane at once: the trees lane-major while they are drawn, the streams in vector registers.
    static thread_local std::vector<uint32_t, HugePageAllocator<uint32_t>> symbols;
    const auto nodes = static_cast<size_t>(tree_size(p));
    symbols.resize(nodes * kBatchLanes);
    batch_detail::LaneDraws draws;
    draws.symbols = symbols.data();
    std::fill(symbols.begin(), symbols.begin() + kBatchLanes, 0);  // lanes that do not draw follow symbol 0
    for (size_t k = 0; k < lanes.size(); ++k) {
      symbols[static_cast<size_t>(lanes[k])] = trees[k][0];
      for (int w = 0; w < 4; ++w) draws.words[w][lanes[k]] = randoms[k]->state_words()[w];
    }
    for (const NodeRange& range : plan.downward_order) {
      if (before_range) before_range(range);
      kernels.sample_range(plan, batch, range, !before_range, draws);
    }
    // In blocks of nodes that stay in L1, each lane's tree written in order.
    constexpr size_t kBlock = 64;
    for (size_t first = 1; first < nodes; first += kBlock) {
      const size_t end = std::min(nodes, first + kBlock);
      for (size_t k = 0; k < lanes.size(); ++k) {
        uint32_t* tree = trees[k].data();
        const uint32_t* lane = symbols.data() + lanes[k];
        for (size_t n = first; n < end; ++n) tree[n] = lane[n * kBatchLanes];
      }
    }
    for (size_t k = 0; k < lanes.size(); ++k)
      for (int w = 0; w < 4; ++w) randoms[k]->state_words()[w] = draws.words[w][lanes[k]];
    return;
  }
  std::vector<double> weight;
  for (const NodeRange& range : plan.downward_order) {
    if (before_range) before_range(range);
    const int level = range.level;
    const BatchLevelPlan& plan_level = plan.levels[static_cast<size_t>(level)];
    const int m = plan_level.m, s = plan_level.s, n_children = plan_level.n_children;
    weight.resize(static_cast<size_t>(m));
    const int64_t begin = plan.node_offset[static_cast<size_t>(level)];
    const int64_t children_begin = plan.node_offset[static_cast<size_t>(level) + 1];
    if (plan.pair_table && level == p.L - 1) {
      sample_spike_leaves(plan, batch, lanes, randoms, trees, range, weight);
      continue;
    }
    if (plan.virtual_pair_level && level == p.L - 2) {
      // The children's messages are rows of the pair table.
      for (int64_t i = range.first; i < range.first + range.count; ++i)
        for (size_t k = 0; k < lanes.size(); ++k) {
          uint32_t* tree = trees[k].data();
          const uint32_t* rules = plan_level.rules.data() + static_cast<size_t>(tree[begin + i]) * m * 2;
          const float* left = pair_up_row(plan, batch, lanes[k], 2 * i);
          const float* right = pair_up_row(plan, batch, lanes[k], 2 * i + 1);
          double total = 0;
          for (int r = 0; r < m; ++r)
            weight[static_cast<size_t>(r)] = total += static_cast<double>(left[rules[2 * r]]) * right[rules[2 * r + 1]];
          const int r = draw_production(weight.data(), m, randoms[k]->uniform());
          tree[children_begin + 2 * i] = rules[2 * r];
          tree[children_begin + 2 * i + 1] = rules[2 * r + 1];
        }
      continue;
    }
    const LaneBlock* child_up = batch.up.data() + plan.block_offset[static_cast<size_t>(level) + 1];
    for (int64_t i = range.first; i < range.first + range.count; ++i) {
      const LaneBlock* child = child_up + i * s * n_children;
      // The next node's children: read lane by lane in scattered order, and out of
      // cache on deep trees unless the fused downward pass has just touched them.
      if (!before_range && i + 1 < range.first + range.count)
        for (int k = 0; k < s * n_children; ++k) __builtin_prefetch(child + s * n_children + k);
      for (size_t k = 0; k < lanes.size(); ++k) {
        const int lane = lanes[k];
        uint32_t* tree = trees[k].data();
        const uint32_t a = tree[begin + i];
        const uint32_t* rules = plan_level.rules.data() + static_cast<size_t>(a) * m * s;
        // weight[r] holds the cumulative weight through production r.
        double total = 0;
        if (s == 2) {
          // The children's values by byte offset from the lane's value in the first child block.
          const char* base = reinterpret_cast<const char*>(child->value + lane);
          const uint32_t* offset = plan_level.rule_offsets.data() + static_cast<size_t>(a) * m * 2;
          auto value = [base](uint32_t bytes) { return *reinterpret_cast<const float*>(base + bytes); };
          for (int r = 0; r < m; ++r)
            weight[static_cast<size_t>(r)] = total += static_cast<double>(value(offset[2 * r])) * value(offset[2 * r + 1]);
        } else {
          for (int r = 0; r < m; ++r) {
            double product = child[rules[r * s]].value[lane];
            for (int j = 1; j < s; ++j) product *= child[j * n_children + rules[r * s + j]].value[lane];
            weight[static_cast<size_t>(r)] = total += product;
          }
        }
        const int r = draw_production(weight.data(), m, randoms[k]->uniform());
        std::copy(rules + r * s, rules + (r + 1) * s, tree + children_begin + i * s);
      }
    }
  }
}

}  // namespace

void batch_sample_posterior(const BatchPlan& plan, const BatchMessages& batch, int lane, RandomStream& random,
                            std::span<uint32_t> tree) {
  HDIFF_CHECK(lane < batch.lanes && batch.errors[static_cast<size_t>(lane)].empty());
  HDIFF_CHECK(tree.size() == static_cast<size_t>(tree_size(plan.grammar->params)));
  if (batch.fallback[lane]) {
    sample_posterior(*plan.grammar, *batch.reference[static_cast<size_t>(lane)], random, tree, plan.prior);
    return;
  }
  RandomStream* stream = &random;
  sample_lanes(plan, batch, std::span<const int>(&lane, 1), std::span<RandomStream* const>(&stream, 1),
               std::span<const std::span<uint32_t>>(&tree, 1));
}

void batch_sample_posteriors(const BatchPlan& plan, const BatchMessages& batch, std::span<RandomStream> randoms,
                             std::span<const std::span<uint32_t>> trees) {
  HDIFF_CHECK(randoms.size() == trees.size() && randoms.size() <= static_cast<size_t>(batch.lanes));
  int lanes[kBatchLanes];
  RandomStream* streams[kBatchLanes];
  std::span<uint32_t> fast_trees[kBatchLanes];
  size_t fast = 0;
  for (size_t l = 0; l < randoms.size(); ++l) {
    if (!batch.errors[l].empty()) continue;  // the caller reports the lane's error
    HDIFF_CHECK(trees[l].size() == static_cast<size_t>(tree_size(plan.grammar->params)));
    if (batch.fallback[l]) {
      sample_posterior(*plan.grammar, *batch.reference[l], randoms[l], trees[l], plan.prior);
      continue;
    }
    lanes[fast] = static_cast<int>(l);
    streams[fast] = &randoms[l];
    fast_trees[fast++] = trees[l];
  }
  sample_lanes(plan, batch, {lanes, fast}, {streams, fast}, {fast_trees, fast});
}

namespace {

// Adds to level_mass (per lane, L+1 levels) the posterior masses of the
// reference symbols of nodes first … first + count - 1 of `level` for each of
// `lanes` (on the fast path), whose downward messages the pass has just computed.
void add_range_masses(const BatchPlan& plan, const BatchMessages& batch, std::span<const int> lanes,
                      std::span<const std::span<const uint32_t>> reference, int level, int64_t first, int64_t count,
                      std::span<double> level_mass) {
  const auto& p = plan.grammar->params;
  const auto levels = static_cast<size_t>(p.L + 1);
  const auto n = static_cast<uint32_t>(plan.symbols[static_cast<size_t>(level)]);
  // The symbols lane-major, as the kernels read them (lanes not summed: symbol 0).
  static thread_local std::vector<uint32_t> symbols;
  symbols.assign(static_cast<size_t>(count) * kBatchLanes, 0);
  double mass[kBatchLanes] = {};
  const int64_t begin = plan.node_offset[static_cast<size_t>(level)] + first;
  for (const int lane : lanes) {
    const uint32_t* own = reference[static_cast<size_t>(lane)].data() + begin;
    uint32_t largest = 0;
    for (int64_t i = 0; i < count; ++i) {
      symbols[static_cast<size_t>(i * kBatchLanes + lane)] = own[i];
      largest = std::max(largest, own[i]);
    }
    HDIFF_CHECK(largest < n);
    mass[lane] = level_mass[static_cast<size_t>(lane) * levels + static_cast<size_t>(level)];
  }
  if (plan.pair_table && level == p.L) {
    const batch_detail::DownPlace parents = batch_detail::down_place(plan, batch, p.L - 1, first / 2);
    batch_detail::add_leaf_masses(plan, batch, first / 2, count / 2, batch_detail::down_blocks(batch, parents),
                                  batch_detail::inverse_mass_blocks(batch, parents), symbols.data(), mass);
  } else {
    const batch_detail::DownPlace place = batch_detail::down_place(plan, batch, level, first);
    // A virtual level L-1's upward messages are in pair_blocks: the pass has just copied them there.
    const LaneBlock* up = plan.virtual_pair_level && level == p.L - 1
                              ? batch.pair_blocks.data()
                              : batch.up.data() + plan.block_offset[static_cast<size_t>(level)] + first * n;
    batch_detail::add_node_masses(static_cast<int>(n), count, up, batch_detail::down_blocks(batch, place),
                                  batch_detail::inverse_mass_blocks(batch, place), symbols.data(), mass);
  }
  for (const int lane : lanes) level_mass[static_cast<size_t>(lane) * levels + static_cast<size_t>(level)] = mass[lane];
}

// batch_downward_and_sample with, when `reference` is given, the level masses and
// no deep messages kept.
void downward_and_sample(const BatchPlan& plan, BatchMessages& batch, std::span<RandomStream> randoms,
                         std::span<const std::span<uint32_t>> trees, std::span<const std::span<const uint32_t>> reference,
                         std::span<double> level_mass) {
  const auto& p = plan.grammar->params;
  const bool masses = !reference.empty();
  HDIFF_CHECK(randoms.size() == trees.size() && randoms.size() <= static_cast<size_t>(batch.lanes));
  HDIFF_CHECK(!masses || (reference.size() == randoms.size() && level_mass.size() == reference.size() * (p.L + 1)));
  if (batch.lanes == 0) return;
  int32_t before[kBatchLanes];
  std::copy(batch.fallback, batch.fallback + kBatchLanes, before);
  // Streams as they were, for lanes the downward pass sends to the double path:
  // those draw again there, as batch_sample_posteriors would after batch_downward.
  std::vector<RandomStream> start(randoms.begin(), randoms.end());
  int lanes[kBatchLanes];
  RandomStream* streams[kBatchLanes];
  std::span<uint32_t> fast_trees[kBatchLanes];
  size_t fast = 0;
  for (size_t l = 0; l < randoms.size(); ++l) {
    if (!batch.errors[l].empty() || batch.fallback[l]) continue;
    HDIFF_CHECK(trees[l].size() == static_cast<size_t>(tree_size(p)));
    HDIFF_CHECK(!masses || reference[l].size() == static_cast<size_t>(tree_size(p)));
    lanes[fast] = static_cast<int>(l);
    streams[fast] = &randoms[l];
    fast_trees[fast++] = trees[l];
  }
  const auto levels = static_cast<size_t>(p.L + 1);
  std::fill(level_mass.begin(), level_mass.end(), 0.0);
  auto add_masses = [&](int level, int64_t first, int64_t count) {
    add_range_masses(plan, batch, {lanes, fast}, reference, level, first, count, level_mass);
  };
  batch.deep_down_kept = !masses;
  downward_root(plan, batch);
  if (masses) add_masses(0, 0, 1);
  sample_lanes(plan, batch, {lanes, fast}, {streams, fast}, {fast_trees, fast}, [&](const NodeRange& range) {
    downward_range(plan, batch, range);
    if (masses) add_masses(range.level + 1, range.first * p.s, range.count * p.s);
  });
  finish_downward(plan, batch, before);
  for (size_t l = 0; l < randoms.size(); ++l) {
    if (!batch.errors[l].empty() || !batch.fallback[l]) continue;
    randoms[l] = start[l];
    sample_posterior(*plan.grammar, *batch.reference[l], randoms[l], trees[l], plan.prior);
    if (!masses) continue;
    for (int level = 0; level <= p.L; ++level)
      level_mass[l * levels + static_cast<size_t>(level)] = batch_level_mass(
          plan, batch, static_cast<int>(l), level,
          reference[l].subspan(static_cast<size_t>(plan.node_offset[static_cast<size_t>(level)]),
                               static_cast<size_t>(nodes_at_level(p, level))));
  }
}

}  // namespace

void batch_downward_and_sample(const BatchPlan& plan, BatchMessages& batch, std::span<RandomStream> randoms,
                               std::span<const std::span<uint32_t>> trees) {
  downward_and_sample(plan, batch, randoms, trees, {}, {});
}

void batch_downward_sample_and_mass(const BatchPlan& plan, BatchMessages& batch, std::span<RandomStream> randoms,
                                    std::span<const std::span<uint32_t>> trees,
                                    std::span<const std::span<const uint32_t>> reference, std::span<double> level_mass) {
  HDIFF_CHECK(!reference.empty() || randoms.empty());
  downward_and_sample(plan, batch, randoms, trees, reference, level_mass);
}

}  // namespace hdiff
