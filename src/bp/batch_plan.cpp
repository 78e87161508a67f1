// Building a BatchPlan: the productions rearranged for the kernels, the pair
// table of token channels, and the blocked visiting order.

#include <algorithm>
#include <cmath>

#include "bp/batch_kernels.h"
#include "bp/batch_layout.h"
#include "common/error.h"

namespace hdiff {
namespace {

using batch_detail::spike_leaf;
using batch_detail::SpikeLeaf;
using batch_detail::token_channel;

// Above this many entries the pair table costs more to build and keep than it saves.
constexpr int64_t kPairTableLimit = int64_t{1} << 22;
// Above this size level L-1's upward messages are not stored (BatchPlan::virtual_pair_level).
constexpr double kStoredPairLevelBytes = 1024.0 * 1024;

BatchLevelPlan level_plan(const ProductionTable& table) {
  BatchLevelPlan level;
  level.n_parents = table.n_parents;
  level.n_children = table.n_children;
  level.m = table.m;
  level.s = table.s;
  level.rules = table.children;
  if (table.s == 2) {
    level.rule_offsets.resize(table.children.size());
    for (size_t k = 0; k < table.children.size(); ++k)
      level.rule_offsets[k] = static_cast<uint32_t>(((k % 2) * static_cast<size_t>(table.n_children) + table.children[k]) * sizeof(LaneBlock));
    if (table.n_parents <= 32) {
      level.rules_by_symbol.assign(2 * static_cast<size_t>(table.m) * 32, 0);
      level.rule_offsets_by_symbol.assign(level.rules_by_symbol.size(), 0);
      for (int a = 0; a < table.n_parents; ++a)
        for (int k = 0; k < 2 * table.m; ++k) {
          const size_t from = static_cast<size_t>(a) * 2 * table.m + k, to = static_cast<size_t>(k) * 32 + a;
          level.rules_by_symbol[to] = level.rules[from];
          level.rule_offsets_by_symbol[to] = level.rule_offsets[from];
        }
    }
    const int n = table.n_children;
    const int64_t productions = static_cast<int64_t>(table.n_parents) * table.m;
    for (int j = 0; j < 2; ++j) {
      std::vector<std::vector<uint32_t>> lists(static_cast<size_t>(n));
      for (int64_t p = 0; p < productions; ++p) {
        const uint32_t b = table.children[static_cast<size_t>(2 * p + j)];
        lists[b].push_back(static_cast<uint32_t>(p / table.m));
        lists[b].push_back(table.children[static_cast<size_t>(2 * p + 1 - j)]);
      }
      std::vector<uint32_t> order(static_cast<size_t>(n));
      for (int b = 0; b < n; ++b) order[static_cast<size_t>(b)] = static_cast<uint32_t>(b);
      std::stable_sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) { return lists[x].size() < lists[y].size(); });
      for (size_t k = 0; k < order.size(); ++k) {
        const auto length = static_cast<uint32_t>(lists[order[k]].size() / 2);
        if (k == 0 || level.down_runs[level.down_runs.size() - 2] != length) {
          level.down_runs.push_back(length);
          level.down_runs.push_back(0);
        }
        ++level.down_runs.back();
        for (uint32_t entry : lists[order[k]]) level.down_pair_offsets.push_back(entry * static_cast<uint32_t>(sizeof(LaneBlock)));
      }
      level.down_runs.push_back(0);
      level.down_runs.push_back(0);
      level.down_order.insert(level.down_order.end(), order.begin(), order.end());
    }
    return level;
  }
  const int64_t productions = static_cast<int64_t>(table.n_parents) * table.m;
  const auto stride = static_cast<size_t>(table.n_children + 1);
  level.down_start.assign(stride * table.s, 0);
  for (int64_t p = 0; p < productions; ++p)
    for (int j = 0; j < table.s; ++j) ++level.down_start[j * stride + table.children[static_cast<size_t>(p * table.s + j)] + 1];
  uint32_t total = 0;
  for (int j = 0; j < table.s; ++j)
    for (size_t b = 0; b <= static_cast<size_t>(table.n_children); ++b) {
      // Each position's list starts where the previous one ended.
      if (b == 0) {
        level.down_start[j * stride] = total;
        continue;
      }
      total += level.down_start[j * stride + b];
      level.down_start[j * stride + b] = total;
    }
  level.down_entries.resize(static_cast<size_t>(productions) * table.s);
  std::vector<uint32_t> fill(level.down_start.begin(), level.down_start.end());
  for (int64_t p = 0; p < productions; ++p)
    for (int j = 0; j < table.s; ++j) {
      const uint32_t b = table.children[static_cast<size_t>(p * table.s + j)];
      level.down_entries[fill[j * stride + b]++] = static_cast<uint32_t>(p);
    }
  return level;
}

// The level-(L-1) messages for every pair of observed leaves, in double, from
// the closed form of Σ_r leaf_0(b_0)·leaf_1(b_1) for leaves c + spike·[b = o].
void build_pair_table(BatchPlan& plan) {
  const auto& p = plan.grammar->params;
  const auto& table = plan.grammar->levels[static_cast<size_t>(p.L - 1)];
  const int v = p.v, n = table.n_parents, tokens = v + 1;
  std::vector<double> count_left(static_cast<size_t>(n) * v, 0), count_right(static_cast<size_t>(n) * v, 0);
  std::vector<int32_t> parent_of(static_cast<size_t>(v) * v, -1);
  for (int a = 0; a < n; ++a)
    for (int r = 0; r < table.m; ++r) {
      const auto rule = table.production(static_cast<int64_t>(a) * table.m + r);
      count_left[static_cast<size_t>(a) * v + rule[0]] += 1;
      count_right[static_cast<size_t>(a) * v + rule[1]] += 1;
      parent_of[static_cast<size_t>(rule[0]) * v + rule[1]] = a;
    }
  const auto pairs = static_cast<size_t>(tokens) * tokens;
  plan.pair_up.assign(pairs * n, 0.0f);
  plan.pair_log_total.assign(pairs, 0.0);
  plan.pair_inverse_total.assign(pairs, 0.0);
  plan.pair_possible.assign(pairs, 0);
  std::vector<double> row(static_cast<size_t>(n));
  for (int o0 = 0; o0 < tokens; ++o0)
    for (int o1 = 0; o1 < tokens; ++o1) {
      const SpikeLeaf left = spike_leaf(plan.noise, v, static_cast<uint32_t>(o0));
      const SpikeLeaf right = spike_leaf(plan.noise, v, static_cast<uint32_t>(o1));
      const int32_t spike_parent = o0 < v && o1 < v ? parent_of[static_cast<size_t>(o0) * v + o1] : -1;
      double total = 0;
      for (int a = 0; a < n; ++a) {
        double value = table.m * left.constant * right.constant;
        if (o1 < v) value += left.constant * right.spike * count_right[static_cast<size_t>(a) * v + o1];
        if (o0 < v) value += left.spike * right.constant * count_left[static_cast<size_t>(a) * v + o0];
        if (spike_parent == a) value += left.spike * right.spike;
        total += row[static_cast<size_t>(a)] = value;
      }
      const size_t pair = static_cast<size_t>(o0) * tokens + o1;
      if (!(total > 0)) continue;
      plan.pair_possible[pair] = 1;
      plan.pair_log_total[pair] = std::log(total);
      plan.pair_inverse_total[pair] = 1.0 / total;
      for (int a = 0; a < n; ++a) plan.pair_up[pair * n + a] = static_cast<float>(row[static_cast<size_t>(a)] / total);
    }
}

// The leaf values and production lists of BatchPlan's spike leaves (see there).
void build_spike_leaves(BatchPlan& plan) {
  const auto& p = plan.grammar->params;
  const auto& table = plan.grammar->levels[static_cast<size_t>(p.L - 1)];
  const int v = p.v;
  const SpikeLeaf observed = spike_leaf(plan.noise, v, 0), masked = spike_leaf(plan.noise, v, mask_token(v));
  plan.leaf_low = static_cast<float>(observed.constant);
  plan.leaf_high = static_cast<float>(observed.constant + observed.spike);
  plan.leaf_masked = static_cast<float>(masked.constant);
  const int64_t productions = static_cast<int64_t>(table.n_parents) * table.m;
  plan.leaf_start.assign(static_cast<size_t>(2 * v) + 1, 0);
  for (int64_t q = 0; q < productions; ++q)
    for (int j = 0; j < 2; ++j) ++plan.leaf_start[static_cast<size_t>(j * v) + table.production(q)[static_cast<size_t>(j)] + 1];
  for (size_t k = 1; k < plan.leaf_start.size(); ++k) plan.leaf_start[k] += plan.leaf_start[k - 1];
  plan.leaf_parents.resize(plan.leaf_start.back());
  plan.leaf_pair_parent.assign(static_cast<size_t>(v + 1) * static_cast<size_t>(v + 1), kNoParent);
  std::vector<uint32_t> next(plan.leaf_start.begin(), plan.leaf_start.end() - 1);
  for (int64_t q = 0; q < productions; ++q) {
    const auto rule = table.production(q);
    const auto parent = static_cast<uint32_t>(q / table.m);
    for (int j = 0; j < 2; ++j) plan.leaf_parents[next[static_cast<size_t>(j * v) + rule[static_cast<size_t>(j)]]++] = parent;
    uint32_t& tuple_parent = plan.leaf_pair_parent[static_cast<size_t>(rule[0]) * static_cast<size_t>(v + 1) + rule[1]];
    HDIFF_CHECK(tuple_parent == kNoParent);  // grammars are unambiguous (SPEC §1): the leaf sums rely on it
    tuple_parent = parent;
  }
  uint32_t longest = 0;
  for (size_t q = 0; q + 1 < plan.leaf_start.size(); ++q) longest = std::max(longest, plan.leaf_start[q + 1] - plan.leaf_start[q]);
  if (longest > kPaddedLeafList) return;
  const int length = plan.leaf_list_length = static_cast<int>(longest + longest % 2);
  plan.leaf_padded_parents.assign(static_cast<size_t>(2 * v) * static_cast<size_t>(length), 0);
  for (size_t q = 0; q + 1 < plan.leaf_start.size(); ++q)
    std::copy(plan.leaf_parents.begin() + plan.leaf_start[q], plan.leaf_parents.begin() + plan.leaf_start[q + 1],
              plan.leaf_padded_parents.begin() + static_cast<std::ptrdiff_t>(q * static_cast<size_t>(length)));
  plan.leaf_active.assign(2 * static_cast<size_t>(length), 0.0);
  std::fill(plan.leaf_active.begin(), plan.leaf_active.begin() + length, 1.0);
}

// Messages of a subtree (both directions) that the blocked passes keep in cache.
constexpr double kSubtreeBytes = 256.0 * 1024;

// The blocked visiting orders of BatchPlan (see there).
void build_orders(BatchPlan& plan) {
  const auto& p = plan.grammar->params;
  int widest = 0;
  for (int n : plan.symbols) widest = std::max(widest, n);
  int height = 1;
  // A subtree of height h has at most 2·s^h nodes, each with up and down messages.
  while (height < p.L &&
         2.0 * std::pow(p.s, height + 1) * widest * sizeof(LaneBlock) * 2 <= kSubtreeBytes)
    ++height;
  const int top = p.L - height;  // subtrees are rooted at this level
  plan.subtree_level = top;
  int64_t blocks = 0, nodes = 0;
  for (int level = 0; level <= p.L + 1; ++level) {
    plan.window_block_offset.push_back(level <= top ? -1 : blocks);
    plan.window_node_offset.push_back(level <= top ? -1 : nodes);
    if (level <= top || level > p.L) continue;
    blocks += nodes_at_level(p, level - top) * plan.symbols[static_cast<size_t>(level)];
    nodes += nodes_at_level(p, level - top);
  }
  plan.window_block_offset.back() = blocks;
  plan.window_node_offset.back() = nodes;
  const int64_t subtrees = nodes_at_level(p, top);
  for (int64_t t = 0; t < subtrees; ++t)
    for (int level = p.L - 1; level >= top; --level) {
      const int64_t width = nodes_at_level(p, level - top);  // s^(level - top)
      plan.upward_order.push_back({level, t * width, width});
    }
  for (int level = top - 1; level >= 0; --level) plan.upward_order.push_back({level, 0, nodes_at_level(p, level)});
  for (int level = 0; level < top; ++level) plan.downward_order.push_back({level, 0, nodes_at_level(p, level)});
  for (int64_t t = 0; t < subtrees; ++t)
    for (int level = top; level < p.L; ++level) {
      const int64_t width = nodes_at_level(p, level - top);
      plan.downward_order.push_back({level, t * width, width});
    }
}

}  // namespace

BatchPlan::BatchPlan(const Grammar& grammar_, const NoiseSpec& noise_, std::span<const double> prior_)
    : grammar(&grammar_), noise(noise_) {
  const auto& p = grammar_.params;
  validate(noise);
  if (!prior_.empty() && prior_.size() != static_cast<size_t>(p.n_classes))
    fail("the class prior has {} values; give one per class ({})", prior_.size(), p.n_classes);
  prior.assign(prior_.begin(), prior_.end());
  if (prior.empty()) prior.assign(static_cast<size_t>(p.n_classes), 1.0 / p.n_classes);
  for (const auto& table : grammar_.levels) levels.push_back(level_plan(table));
  int64_t total = 0;
  for (int level = 0; level <= p.L; ++level) {
    block_offset.push_back(total);
    node_offset.push_back(level_offset(p, level));
    symbols.push_back(symbols_at_level(p, level));
    total += nodes_at_level(p, level) * symbols_at_level(p, level);
  }
  block_offset.push_back(total);
  node_offset.push_back(level_offset(p, p.L + 1));
  build_orders(*this);
  const int n_bottom = symbols_at_level(p, p.L - 1);
  pair_table = token_channel(noise.channel) && p.s == 2 &&
               static_cast<int64_t>(p.v + 1) * (p.v + 1) * n_bottom <= kPairTableLimit;
  // Stored, the level costs a transpose per node and pass; virtual, one per node
  // and pass that needs it, but it is not written to memory and read back,
  // which is what bounds deep trees.
  virtual_pair_level = pair_table && p.L >= 2 &&
                       static_cast<double>(nodes_at_level(p, p.L - 1)) * n_bottom * sizeof(LaneBlock) > kStoredPairLevelBytes;
  if (pair_table) {
    build_pair_table(*this);
    build_spike_leaves(*this);
  }
}

void batch_detail::set_virtual_pair_level(BatchPlan& plan, bool virtual_level) {
  HDIFF_CHECK(!virtual_level || (plan.pair_table && plan.grammar->params.L >= 2));
  plan.virtual_pair_level = virtual_level;
}

}  // namespace hdiff
