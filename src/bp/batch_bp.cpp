#include "bp/batch_bp.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <numbers>

#include "bp/batch_kernels.h"
#include "common/error.h"

namespace hdiff {
namespace {

using batch_detail::Kernels;

// The kernels for this machine; HDIFF_BATCH_KERNELS=generic forces the portable ones.
const Kernels& kernels() {
  static const Kernels chosen = [] {
    const char* forced = std::getenv("HDIFF_BATCH_KERNELS");
    const bool generic = forced != nullptr && std::string(forced) == "generic";
#if defined(HDIFF_AVX2_KERNELS)
    if (!generic && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return batch_detail::avx2_kernels();
#endif
    (void)generic;
    return batch_detail::generic_kernels();
  }();
  return chosen;
}

// Above this many entries the pair table costs more to build and keep than it saves.
constexpr int64_t kPairTableLimit = int64_t{1} << 22;

bool token_channel(Channel channel) { return channel == Channel::uniform || channel == Channel::mask; }

// A leaf's likelihood c + spike·[a = o] for observed token o (o = v: MASK), normalised.
struct SpikeLeaf {
  double constant;
  double spike;
};
SpikeLeaf spike_leaf(const NoiseSpec& noise, int v, uint32_t o) {
  if (o == mask_token(v)) return {1.0 / v, 0.0};
  if (noise.channel == Channel::mask) return {0.0, 1.0};
  return {noise.level / v, 1.0 - noise.level};
}

BatchLevelPlan level_plan(const ProductionTable& table) {
  BatchLevelPlan level;
  level.n_parents = table.n_parents;
  level.n_children = table.n_children;
  level.m = table.m;
  level.s = table.s;
  level.rules = table.children;
  if (table.s == 2) {
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
        level.down_pairs.insert(level.down_pairs.end(), lists[order[k]].begin(), lists[order[k]].end());
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
      for (int a = 0; a < n; ++a) plan.pair_up[pair * n + a] = static_cast<float>(row[static_cast<size_t>(a)] / total);
    }
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

// Fills unloaded lanes with lane 0's observation, so that they compute harmless numbers.
void fill_unused_lanes(const BatchPlan& plan, BatchMessages& batch) {
  const auto& p = plan.grammar->params;
  const int64_t d = sequence_length(p);
  for (int l = batch.lanes; l < kBatchLanes; ++l) {
    if (token_channel(plan.noise.channel))
      std::copy(batch.tokens.begin(), batch.tokens.begin() + d, batch.tokens.begin() + l * d);
    else
      std::copy(batch.likelihoods.begin(), batch.likelihoods.begin() + d * p.v, batch.likelihoods.begin() + l * d * p.v);
    batch.leaf_log_scale[l] = batch.leaf_log_scale[0];
  }
}

// Leaves [first, first + count) of `up` from the lanes' observations.
void fill_leaves(const BatchPlan& plan, BatchMessages& batch, int64_t first, int64_t count) {
  const auto& p = plan.grammar->params;
  const int v = p.v;
  const int64_t d = sequence_length(p);
  LaneBlock* leaves = batch.up.data() + plan.block_offset[static_cast<size_t>(p.L)];
  if (token_channel(plan.noise.channel)) {
    for (int64_t i = first; i < first + count; ++i) {
      uint32_t token[kBatchLanes];
      float low[kBatchLanes], high[kBatchLanes];
      for (int l = 0; l < kBatchLanes; ++l) {
        token[l] = batch.tokens[static_cast<size_t>(l * d + i)];
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
          leaves[i * v + b].value[l] = static_cast<float>(values[static_cast<size_t>((l * d + i) * v + b)]);
  }
}

// Nodes [first, first + count) of level L-1 from the pair table: each lane
// copies the row of its two observed children.
void pair_level(const BatchPlan& plan, BatchMessages& batch, int64_t first, int64_t count, double* pair_log) {
  const auto& p = plan.grammar->params;
  const int64_t d = sequence_length(p);
  const int n = plan.levels[static_cast<size_t>(p.L - 1)].n_parents;
  const int tokens = p.v + 1;
  LaneBlock* parents = batch.up.data() + plan.block_offset[static_cast<size_t>(p.L - 1)];
  const uint32_t* observed = batch.tokens.data();
  for (int64_t i = first; i < first + count; ++i) {
    LaneBlock* parent = parents + i * n;
    for (int l = 0; l < kBatchLanes; ++l) {
      const size_t pair = static_cast<size_t>(observed[l * d + 2 * i]) * tokens + observed[l * d + 2 * i + 1];
      const float* row = plan.pair_up.data() + pair * n;
      for (int a = 0; a < n; ++a) parent[a].value[l] = row[a];
      pair_log[l] += plan.pair_log_total[pair];
      batch.fallback[l] |= plan.pair_possible[pair] == 0;
    }
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
          token_likelihoods(plan.noise, p.v, {batch.tokens.data() + l * d, static_cast<size_t>(d)}, reference->leaves());
    } else {
      const auto leaves = reference->leaves();
      std::copy_n(batch.likelihoods.begin() + l * d * p.v, d * p.v, leaves.begin());
      reference->leaf_log_scale = batch.leaf_log_scale[l];
    }
    upward_messages(*plan.grammar, *reference, plan.prior);
    batch.log_evidence[l] = reference->log_evidence;
  } catch (const Error& e) {
    batch.errors[static_cast<size_t>(l)] = e.what();
  }
}

}  // namespace

const char* batch_kernel_name() { return kernels().name; }

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
  if (pair_table) build_pair_table(*this);
}

BatchMessages::BatchMessages(const BatchPlan& plan) : errors(kBatchLanes), reference(kBatchLanes) {
  const auto& p = plan.grammar->params;
  const auto blocks = static_cast<size_t>(plan.block_offset.back());
  up.resize(blocks);
  down.resize(blocks);
  inverse_mass.resize(static_cast<size_t>(tree_size(p)));
  const int64_t d = sequence_length(p);
  if (token_channel(plan.noise.channel))
    tokens.resize(static_cast<size_t>(kBatchLanes * d));
  else
    likelihoods.resize(static_cast<size_t>(kBatchLanes * d * p.v));
}

void load_tokens(const BatchPlan& plan, BatchMessages& batch, std::span<const uint32_t> observed) {
  const auto& p = plan.grammar->params;
  const int64_t d = sequence_length(p);
  if (!token_channel(plan.noise.channel)) fail("the {} channel takes values, not tokens", channel_name(plan.noise.channel));
  if (batch.lanes >= kBatchLanes) fail("the batch is full ({} lanes)", kBatchLanes);
  if (observed.size() != static_cast<size_t>(d)) fail("{} tokens given; the grammar's strings have {}", observed.size(), d);
  const int v = p.v;
  double log_scale = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    const uint32_t o = observed[i];
    // The words of token_likelihoods, so that both paths report the same error.
    if (plan.noise.channel == Channel::mask) {
      if (o > mask_token(v))
        fail("token {} at position {} is out of range; with the mask channel tokens lie in [0, {}] ({} = MASK)", o, i,
             v, v);
      if (o == mask_token(v)) log_scale += std::log(static_cast<double>(v));
    } else if (o >= static_cast<uint32_t>(v)) {
      fail("token {} at position {} is out of range; tokens lie in [0, {}]", o, i, v - 1);
    }
  }
  const int l = batch.lanes++;
  std::copy(observed.begin(), observed.end(), batch.tokens.begin() + l * d);
  batch.leaf_log_scale[l] = log_scale;
}

void load_likelihoods(const BatchPlan& plan, BatchMessages& batch, std::span<const double> likelihoods, double log_scale) {
  const auto& p = plan.grammar->params;
  const int64_t size = sequence_length(p) * p.v;
  if (token_channel(plan.noise.channel)) fail("the {} channel takes tokens", channel_name(plan.noise.channel));
  if (batch.lanes >= kBatchLanes) fail("the batch is full ({} lanes)", kBatchLanes);
  if (likelihoods.size() != static_cast<size_t>(size)) fail("{} leaf likelihoods given; need d·v = {}", likelihoods.size(), size);
  const int l = batch.lanes++;
  std::copy(likelihoods.begin(), likelihoods.end(), batch.likelihoods.begin() + l * size);
  batch.leaf_log_scale[l] = log_scale;
}

void load_gaussian(const BatchPlan& plan, BatchMessages& batch, std::span<const double> values) {
  const auto& p = plan.grammar->params;
  const int64_t size = sequence_length(p) * p.v;
  if (plan.noise.channel != Channel::gaussian) fail("load_gaussian needs the gaussian channel");
  if (batch.lanes >= kBatchLanes) fail("the batch is full ({} lanes)", kBatchLanes);
  if (values.size() != static_cast<size_t>(size)) fail("{} gaussian values given; need d·v = {}", values.size(), size);
  const int l = batch.lanes++;
  batch.leaf_log_scale[l] = gaussian_likelihoods(
      plan.noise, p.v, values, {batch.likelihoods.data() + l * size, static_cast<size_t>(size)});
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
  for (const NodeRange& range : plan.upward_order) {
    const auto level = static_cast<size_t>(range.level);
    const BatchLevelPlan& level_plan = plan.levels[level];
    if (range.level == p.L - 1) {
      fill_leaves(plan, batch, range.first * p.s, range.count * p.s);
      if (plan.pair_table) {
        pair_level(plan, batch, range.first, range.count, pair_log);
        continue;
      }
    }
    kernels().upward(level_plan, range.count,
                     batch.up.data() + plan.block_offset[level + 1] + range.first * p.s * level_plan.n_children,
                     batch.up.data() + plan.block_offset[level] + range.first * level_plan.n_parents, state);
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

namespace {

// Root of the downward pass: the prior, and 1/Σ prior·u.
void downward_root(const BatchPlan& plan, BatchMessages& batch) {
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
void downward_range(const BatchPlan& plan, BatchMessages& batch, const NodeRange& range) {
  const int s = plan.grammar->params.s;
  const auto level = static_cast<size_t>(range.level);
  const BatchLevelPlan& level_plan = plan.levels[level];
  const int64_t children = range.first * s * level_plan.n_children;
  kernels().downward(level_plan, range.count, batch.down.data() + plan.block_offset[level] + range.first * level_plan.n_parents,
                     batch.up.data() + plan.block_offset[level + 1] + children,
                     batch.down.data() + plan.block_offset[level + 1] + children,
                     batch.inverse_mass.data() + plan.node_offset[level + 1] + range.first * s, batch.fallback);
}

// Lanes sent to the double path by the downward pass get both passes there; the
// others that are already there get the downward one.
void finish_downward(const BatchPlan& plan, BatchMessages& batch, const int32_t* before) {
  for (int l = 0; l < batch.lanes; ++l) {
    if (!batch.fallback[l]) continue;
    if (!before[l]) reference_upward(plan, batch, l);
    if (batch.errors[static_cast<size_t>(l)].empty())
      downward_messages(*plan.grammar, *batch.reference[static_cast<size_t>(l)], plan.prior);
  }
  batch.downward_done = true;
}

}  // namespace

void batch_downward(const BatchPlan& plan, BatchMessages& batch) {
  if (batch.lanes == 0) return;
  int32_t before[kBatchLanes];
  std::copy(batch.fallback, batch.fallback + kBatchLanes, before);
  downward_root(plan, batch);
  for (const NodeRange& range : plan.downward_order) downward_range(plan, batch, range);
  finish_downward(plan, batch, before);
}

const std::string& lane_error(const BatchMessages& batch, int lane) { return batch.errors[static_cast<size_t>(lane)]; }

double reference_marginal_at(const BatchPlan& plan, const BatchMessages& batch, int lane, int level, int64_t i,
                             uint32_t a) {
  HDIFF_CHECK(batch.downward_done && lane < batch.lanes && batch.errors[static_cast<size_t>(lane)].empty());
  const TreeMessages& reference = *batch.reference[static_cast<size_t>(lane)];
  const int n = plan.symbols[static_cast<size_t>(level)];
  const int64_t begin = reference.offsets[static_cast<size_t>(level)] + i * n;
  double total = 0;
  for (int b = 0; b < n; ++b) total += reference.up[static_cast<size_t>(begin + b)] * reference.down[static_cast<size_t>(begin + b)];
  return reference.up[static_cast<size_t>(begin + a)] * reference.down[static_cast<size_t>(begin + a)] / total;
}

void batch_marginals(const BatchPlan& plan, const BatchMessages& batch, int lane, int level, std::span<double> out) {
  const auto& p = plan.grammar->params;
  HDIFF_CHECK(batch.downward_done && lane < batch.lanes && batch.errors[static_cast<size_t>(lane)].empty());
  const int n = symbols_at_level(p, level);
  const int64_t count = nodes_at_level(p, level);
  HDIFF_CHECK(out.size() == static_cast<size_t>(count * n));
  for (int64_t i = 0; i < count; ++i)
    for (int a = 0; a < n; ++a)
      out[static_cast<size_t>(i * n + a)] = batch_marginal_at(plan, batch, lane, level, i, static_cast<uint32_t>(a));
}

namespace {

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
  std::vector<double> weight;
  for (const NodeRange& range : plan.downward_order) {
    if (before_range) before_range(range);
    const int level = range.level;
    const BatchLevelPlan& plan_level = plan.levels[static_cast<size_t>(level)];
    const int m = plan_level.m, s = plan_level.s, n_children = plan_level.n_children;
    weight.resize(static_cast<size_t>(m));
    const LaneBlock* child_up = batch.up.data() + plan.block_offset[static_cast<size_t>(level) + 1];
    const int64_t begin = plan.node_offset[static_cast<size_t>(level)];
    const int64_t children_begin = plan.node_offset[static_cast<size_t>(level) + 1];
    for (int64_t i = range.first; i < range.first + range.count; ++i) {
      const LaneBlock* child = child_up + i * s * n_children;
      for (size_t k = 0; k < lanes.size(); ++k) {
        const int lane = lanes[k];
        uint32_t* tree = trees[k].data();
        const uint32_t a = tree[begin + i];
        const uint32_t* rules = plan_level.rules.data() + static_cast<size_t>(a) * m * s;
        // weight[r] holds the cumulative weight through production r.
        double total = 0;
        if (s == 2) {
          for (int r = 0; r < m; ++r)
            weight[static_cast<size_t>(r)] = total += static_cast<double>(child[rules[2 * r]].value[lane]) *
                                                      child[n_children + rules[2 * r + 1]].value[lane];
        } else {
          for (int r = 0; r < m; ++r) {
            double product = child[rules[r * s]].value[lane];
            for (int j = 1; j < s; ++j) product *= child[j * n_children + rules[r * s + j]].value[lane];
            weight[static_cast<size_t>(r)] = total += product;
          }
        }
        // The first r whose cumulative weight exceeds the target, counted without
        // branches (a data-dependent exit would be mispredicted at most nodes).
        const double target = randoms[k]->uniform() * total;
        int r = 0;
        for (int q = 0; q < m - 1; ++q) r += weight[static_cast<size_t>(q)] <= target;
        while (r > 0 && weight[static_cast<size_t>(r)] == weight[static_cast<size_t>(r) - 1]) --r;  // never weight zero
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

void batch_downward_and_sample(const BatchPlan& plan, BatchMessages& batch, std::span<RandomStream> randoms,
                               std::span<const std::span<uint32_t>> trees) {
  HDIFF_CHECK(randoms.size() == trees.size() && randoms.size() <= static_cast<size_t>(batch.lanes));
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
    HDIFF_CHECK(trees[l].size() == static_cast<size_t>(tree_size(plan.grammar->params)));
    lanes[fast] = static_cast<int>(l);
    streams[fast] = &randoms[l];
    fast_trees[fast++] = trees[l];
  }
  downward_root(plan, batch);
  sample_lanes(plan, batch, {lanes, fast}, {streams, fast}, {fast_trees, fast},
               [&](const NodeRange& range) { downward_range(plan, batch, range); });
  finish_downward(plan, batch, before);
  for (size_t l = 0; l < randoms.size(); ++l) {
    if (!batch.errors[l].empty() || !batch.fallback[l]) continue;
    randoms[l] = start[l];
    sample_posterior(*plan.grammar, *batch.reference[l], randoms[l], trees[l], plan.prior);
  }
}

}  // namespace hdiff
