// Marginals and level masses of the batch path after the downward pass: read
// node by node (batch_marginal_at, batch_marginals, batch_level_mass), or summed
// for all lanes of a range of nodes inside the fused pass (add_node_masses,
// add_leaf_masses); the leaves' under the pair table from their parents'
// downward messages.

#include <cstdint>

#include "bp/batch_bp.h"
#include "bp/batch_kernels.h"
#include "common/error.h"

namespace hdiff {

using batch_detail::down_blocks;
using batch_detail::down_place;
using batch_detail::DownPlace;
using batch_detail::inverse_mass_blocks;

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

namespace {

// The sibling's likelihood as u[0] elsewhere and u[1] at its observed token
// `sibling`, and w(a') of the one production a' → (a, sibling) (j = 0) or
// (sibling, a) (j = 1), 0 where there is none (BatchPlan::leaf_pair_parent).
struct SiblingTerms {
  float u[2];
  double observed_parent_w;
};
inline SiblingTerms sibling_terms(const BatchPlan& plan, const LaneBlock* w, int lane, int j, uint32_t a, uint32_t sibling) {
  const auto tokens = static_cast<size_t>(plan.grammar->params.v + 1);
  const size_t tuple = j == 0 ? a * tokens + sibling : sibling * tokens + a;
  const uint32_t parent = plan.leaf_pair_parent[tuple];
  const bool found = parent != kNoParent;  // a select, not a branch
  return {{spike_leaf_value(plan, sibling, sibling + 1), spike_leaf_value(plan, sibling, sibling)},
          found ? static_cast<double>(w[found ? parent : 0].value[lane]) : 0.0};
}

// Σ_{(a', c)} w(a')·u_sibling(c) over the productions a' → (a, c) of child
// position j, from Σ_{a'} w(a') over those productions' parents (BatchPlan):
// the spike-leaf marginal's sum before its normalisation.
inline double spike_leaf_sum_from_parents(const SiblingTerms& terms, double parents_w) {
  return terms.u[0] * parents_w + (static_cast<double>(terms.u[1]) - terms.u[0]) * terms.observed_parent_w;
}
double spike_leaf_sum(const BatchPlan& plan, const LaneBlock* w, int lane, int j, uint32_t a, uint32_t sibling) {
  const auto v = static_cast<size_t>(plan.grammar->params.v);
  const uint32_t* parent = plan.leaf_parents.data() + plan.leaf_start[static_cast<size_t>(j) * v + a];
  const uint32_t* end = plan.leaf_parents.data() + plan.leaf_start[static_cast<size_t>(j) * v + a + 1];
  // Two chains: the adds' latency, not the loads, bounds a short loop.
  double even = 0, odd = 0;
  for (; parent + 1 < end; parent += 2) {
    even += w[parent[0]].value[lane];
    odd += w[parent[1]].value[lane];
  }
  if (parent < end) even += w[parent[0]].value[lane];
  return spike_leaf_sum_from_parents(sibling_terms(plan, w, lane, j, a, sibling), even + odd);
}

// Adds to `mass` p(z = a[j] | obs) of children j = 0, 1 (leaves) of node i of
// level L-1 for a lane on the fast path, from the node's downward blocks w and
// its 1/Σ u·w; returns the sum. The symbols a[j] < v are the caller's to check.
// With padded lists (BatchPlan::leaf_list_length)
// it runs through them without a data-dependent branch: the same sums as
// spike_leaf_sum's, and a value times 0 (an exact +0) for each entry past a
// list's end. (Which lists a lane reads depends on its data: their lengths'
// loop exits were mispredicted at most nodes.)
double add_leaf_pair_mass(const BatchPlan& plan, const BatchMessages& batch, int lane, int64_t i, const LaneBlock* w,
                          float inverse_mass, const uint32_t* a, double mass) {
  const int v = plan.grammar->params.v, length = plan.leaf_list_length;
  const uint32_t* observed = batch.tokens.data() + lane * batch.lane_stride + 2 * i;
  const double scale = inverse_mass * plan.pair_inverse_total[observed_pair(plan, batch, lane, i)];
  if (length == 0) {
    for (int j = 0; j < 2; ++j)
      mass += spike_leaf_value(plan, observed[j], a[j]) * spike_leaf_sum(plan, w, lane, j, a[j], observed[1 - j]) * scale;
    return mass;
  }
  const uint32_t* parents[2];
  const double* active[2];
  for (int j = 0; j < 2; ++j) {
    const size_t list = static_cast<size_t>(j) * static_cast<size_t>(v) + a[j];
    parents[j] = plan.leaf_padded_parents.data() + list * static_cast<size_t>(length);
    active[j] = plan.leaf_active.data() + length - (plan.leaf_start[list + 1] - plan.leaf_start[list]);
  }
  // Two chains per list, in named variables: as arrays GCC kept them on the
  // stack, and the adds waited on store forwarding.
  double even0 = 0, odd0 = 0, even1 = 0, odd1 = 0;
  const float* values = w->value + lane;
  auto value = [values](uint32_t parent) { return static_cast<double>(values[parent * kBatchLanes]); };
  for (int t = 0; t < length; t += 2) {
    even0 += value(parents[0][t]) * active[0][t];
    odd0 += value(parents[0][t + 1]) * active[0][t + 1];
    even1 += value(parents[1][t]) * active[1][t];
    odd1 += value(parents[1][t + 1]) * active[1][t + 1];
  }
  const double parents_w[2] = {even0 + odd0, even1 + odd1};
  for (int j = 0; j < 2; ++j)
    mass += spike_leaf_value(plan, observed[j], a[j]) *
            spike_leaf_sum_from_parents(sibling_terms(plan, w, lane, j, a[j], observed[1 - j]), parents_w[j]) * scale;
  return mass;
}

}  // namespace

double spike_leaf_marginal(const BatchPlan& plan, const BatchMessages& batch, int lane, int64_t i, uint32_t a) {
  const int L = static_cast<int>(plan.symbols.size()) - 1;
  const int n = plan.symbols[static_cast<size_t>(L) - 1];
  const int64_t parent = i / 2;
  const int j = static_cast<int>(i % 2);
  const uint32_t* observed = batch.tokens.data() + lane * batch.lane_stride + 2 * parent;
  const LaneBlock* w = batch.down.data() + plan.block_offset[static_cast<size_t>(L) - 1] + parent * n;
  const double sum = spike_leaf_sum(plan, w, lane, j, a, observed[1 - j]);
  const double inverse_mass = batch.inverse_mass[static_cast<size_t>(plan.node_offset[static_cast<size_t>(L) - 1] + parent)].value[lane];
  return spike_leaf_value(plan, observed[j], a) * sum * inverse_mass * plan.pair_inverse_total[observed_pair(plan, batch, lane, parent)];
}

double batch_detail::add_level_mass(const BatchPlan& plan, const BatchMessages& batch, int lane, int level,
                                    int64_t first, int64_t count, const uint32_t* symbols, double mass) {
  const auto& p = plan.grammar->params;
  if (plan.pair_table && level == p.L) {
    HDIFF_CHECK(first % 2 == 0 && count % 2 == 0);
    const DownPlace parents = down_place(plan, batch, p.L - 1, first / 2);
    const LaneBlock* parent_down = down_blocks(batch, parents);
    const LaneBlock* parent_inverse_mass = inverse_mass_blocks(batch, parents);
    const int n = plan.symbols[static_cast<size_t>(p.L) - 1];
    for (int64_t k = 0; k < count; ++k) HDIFF_CHECK(symbols[k] < static_cast<uint32_t>(p.v));
    for (int64_t k = 0; k < count / 2; ++k)
      mass = add_leaf_pair_mass(plan, batch, lane, first / 2 + k, parent_down + k * n, parent_inverse_mass[k].value[lane],
                                symbols + 2 * k, mass);
    return mass;
  }
  const int n = plan.symbols[static_cast<size_t>(level)];
  const DownPlace place = down_place(plan, batch, level, first);
  const LaneBlock* down = down_blocks(batch, place);
  const LaneBlock* inverse_mass = inverse_mass_blocks(batch, place);
  if (plan.virtual_pair_level && level == p.L - 1) {
    for (int64_t k = 0; k < count; ++k) {
      const uint32_t a = symbols[k];
      HDIFF_CHECK(a < static_cast<uint32_t>(n));
      mass += static_cast<double>(pair_up_row(plan, batch, lane, first + k)[a]) * down[k * n + a].value[lane] *
              inverse_mass[k].value[lane];
    }
    return mass;
  }
  const LaneBlock* up = batch.up.data() + plan.block_offset[static_cast<size_t>(level)] + first * n;
  for (int64_t k = 0; k < count; ++k) {
    HDIFF_CHECK(symbols[k] < static_cast<uint32_t>(n));
    const int64_t at = k * n + symbols[k];
    mass += static_cast<double>(up[at].value[lane]) * down[at].value[lane] * inverse_mass[k].value[lane];
  }
  return mass;
}

void batch_detail::add_node_masses(int n, int64_t count, const LaneBlock* up, const LaneBlock* down,
                                   const LaneBlock* inverse_mass, const uint32_t* symbols, double* mass) {
  for (int64_t k = 0; k < count; ++k)
    for (int l = 0; l < kBatchLanes; ++l) {
      const int64_t at = k * n + symbols[k * kBatchLanes + l];
      mass[l] += static_cast<double>(up[at].value[l]) * down[at].value[l] * inverse_mass[k].value[l];
    }
}

void batch_detail::add_leaf_masses(const BatchPlan& plan, const BatchMessages& batch, int64_t first, int64_t count,
                                   const LaneBlock* parent_down, const LaneBlock* parent_inverse_mass,
                                   const uint32_t* symbols, double* mass) {
  const int n = plan.symbols[plan.symbols.size() - 2];
  for (int64_t k = 0; k < count; ++k)
    for (int l = 0; l < kBatchLanes; ++l) {
      const uint32_t a[2] = {symbols[2 * k * kBatchLanes + l], symbols[(2 * k + 1) * kBatchLanes + l]};
      mass[l] = add_leaf_pair_mass(plan, batch, l, first + k, parent_down + k * n, parent_inverse_mass[k].value[l], a, mass[l]);
    }
}

double batch_level_mass(const BatchPlan& plan, const BatchMessages& batch, int lane, int level,
                        std::span<const uint32_t> symbols) {
  HDIFF_CHECK(batch.downward_done && lane < batch.lanes && batch.errors[static_cast<size_t>(lane)].empty());
  const int64_t count = nodes_at_level(plan.grammar->params, level);
  HDIFF_CHECK(symbols.size() == static_cast<size_t>(count));
  if (batch.fallback[lane]) {
    double mass = 0;
    for (int64_t i = 0; i < count; ++i) mass += batch_marginal_at(plan, batch, lane, level, i, symbols[static_cast<size_t>(i)]);
    return mass;
  }
  HDIFF_CHECK(batch.deep_down_kept);
  return batch_detail::add_level_mass(plan, batch, lane, level, 0, count, symbols.data(), 0.0);
}

void batch_marginals(const BatchPlan& plan, const BatchMessages& batch, int lane, int level, std::span<double> out) {
  const auto& p = plan.grammar->params;
  HDIFF_CHECK(batch.downward_done && lane < batch.lanes && batch.errors[static_cast<size_t>(lane)].empty());
  HDIFF_CHECK(batch.deep_down_kept || batch.fallback[lane]);
  const int n = symbols_at_level(p, level);
  const int64_t count = nodes_at_level(p, level);
  HDIFF_CHECK(out.size() == static_cast<size_t>(count * n));
  for (int64_t i = 0; i < count; ++i)
    for (int a = 0; a < n; ++a)
      out[static_cast<size_t>(i * n + a)] = batch_marginal_at(plan, batch, lane, level, i, static_cast<uint32_t>(a));
}

}  // namespace hdiff
