// Posterior draws for s = 2 with AVX-512, all 16 lanes of a batch at once: each
// lane's production weights, cumulative sums, uniform and search are the scalar
// sampler's (batch_sampling.cpp) operation for operation, so the trees are the
// same. A lane's children are read with gathers (each lane has its own parent
// symbol), and its random stream is advanced in a vector register.
// This file is compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl.

// GCC 12's gather intrinsics start from an undefined register, which its own
// headers then report as maybe uninitialised.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include <vector>

#include "bp/batch_kernels.h"

namespace hdiff::batch_detail {
namespace {

static_assert(kBatchLanes == 16, "one 512-bit register of 32-bit lanes");

// Eight xoshiro256++ streams, word w of each in state[w]: RandomStream::next().
inline __m512i next_words(__m512i* state) {
  const __m512i result = _mm512_add_epi64(_mm512_rol_epi64(_mm512_add_epi64(state[0], state[3]), 23), state[0]);
  const __m512i t = _mm512_slli_epi64(state[1], 17);
  state[2] = _mm512_xor_si512(state[2], state[0]);
  state[3] = _mm512_xor_si512(state[3], state[1]);
  state[1] = _mm512_xor_si512(state[1], state[2]);
  state[0] = _mm512_xor_si512(state[0], state[3]);
  state[2] = _mm512_xor_si512(state[2], t);
  state[3] = _mm512_rol_epi64(state[3], 45);
  return result;
}

// RandomStream::uniform(): the top 53 bits, exactly converted and scaled.
inline __m512d uniform(__m512i* state) {
  return _mm512_mul_pd(_mm512_cvtepu64_pd(_mm512_srli_epi64(next_words(state), 11)), _mm512_set1_pd(0x1.0p-53));
}

// The 16 lanes' streams, lanes 0-7 and 8-15.
struct Streams {
  __m512i low[4], high[4];
};

Streams load_streams(const LaneDraws& draws) {
  Streams streams;
  for (int w = 0; w < 4; ++w) {
    streams.low[w] = _mm512_loadu_si512(draws.words[w]);
    streams.high[w] = _mm512_loadu_si512(draws.words[w] + 8);
  }
  return streams;
}

void store_streams(const Streams& streams, LaneDraws& draws) {
  for (int w = 0; w < 4; ++w) {
    _mm512_storeu_si512(draws.words[w], streams.low[w]);
    _mm512_storeu_si512(draws.words[w] + 8, streams.high[w]);
  }
}

inline __m512d low_doubles(__m512 x) { return _mm512_cvtps_pd(_mm512_castps512_ps256(x)); }
inline __m512d high_doubles(__m512 x) {
  return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
}

// Cumulative production weights of the 16 lanes in double: production r's at
// value[16r …], lanes 0-7 then 8-15.
struct Weights {
  std::vector<double> value;
  __m512d total_low, total_high;
  // Before a node's first production.
  void start(int m) {
    value.resize(static_cast<size_t>(m) * kBatchLanes);
    total_low = total_high = _mm512_setzero_pd();
  }
  __m512d low(size_t r) const { return _mm512_loadu_pd(value.data() + r * kBatchLanes); }
  __m512d high(size_t r) const { return _mm512_loadu_pd(value.data() + r * kBatchLanes + 8); }
  // Adds production r's weight x·y (floats, multiplied in double, as the scalar sampler does).
  void add(int r, __m512 x, __m512 y) {
    total_low = _mm512_add_pd(total_low, _mm512_mul_pd(low_doubles(x), low_doubles(y)));
    total_high = _mm512_add_pd(total_high, _mm512_mul_pd(high_doubles(x), high_doubles(y)));
    _mm512_storeu_pd(value.data() + static_cast<size_t>(r) * kBatchLanes, total_low);
    _mm512_storeu_pd(value.data() + static_cast<size_t>(r) * kBatchLanes + 8, total_high);
  }
  // Lanes whose cumulative weight through production q compares with (low, high) as `predicate` says.
  template <int predicate>
  __mmask16 compare(size_t q, __m512d low_lanes, __m512d high_lanes) const {
    const __mmask8 l = _mm512_cmp_pd_mask(low(q), low_lanes, predicate);
    const __mmask8 h = _mm512_cmp_pd_mask(high(q), high_lanes, predicate);
    return static_cast<__mmask16>(l | (static_cast<unsigned>(h) << 8));
  }
};

// draw_production for every lane: the first production whose cumulative
// weight exceeds u·total, never one of weight zero.
inline __m512i draw(const Weights& weights, int m, Streams& streams) {
  const auto last = static_cast<size_t>(m - 1);
  const __m512d target_low = _mm512_mul_pd(uniform(streams.low), weights.low(last));
  const __m512d target_high = _mm512_mul_pd(uniform(streams.high), weights.high(last));
  const __m512i one = _mm512_set1_epi32(1);
  __m512i r = _mm512_setzero_si512();
  for (size_t q = 0; q < last; ++q)
    r = _mm512_mask_add_epi32(r, weights.compare<_CMP_LE_OQ>(q, target_low, target_high), r, one);
  // Back over productions of weight zero, from the top so that runs of them are crossed.
  for (size_t q = last; q > 0; --q) {
    const __mmask16 at_q = _mm512_cmpeq_epi32_mask(r, _mm512_set1_epi32(static_cast<int>(q)));
    const __mmask16 repeated = weights.compare<_CMP_EQ_OQ>(q, weights.low(q - 1), weights.high(q - 1));
    r = _mm512_mask_sub_epi32(r, at_q & repeated, r, one);
  }
  return r;
}

// Entry 2r + j (production r's child j, or its byte offset) of each lane's
// parent symbol: by permutation from a per-symbol table (at most 32 parent
// symbols: BatchLevelPlan::rules_by_symbol), else by gather from the flat one.
struct ProductionLookup {
  const uint32_t* by_symbol;  // (2r + j)·32 + a, or nullptr
  const uint32_t* flat;       // a·2m + 2r + j
  __m512i symbol;             // each lane's parent symbol a
  __m512i row;                // a·2m
  __m512i at(int r, int j) const {
    const int k = 2 * r + j;
    if (by_symbol != nullptr) {
      const uint32_t* table = by_symbol + static_cast<size_t>(k) * 32;
      return _mm512_permutex2var_epi32(_mm512_loadu_si512(table), symbol, _mm512_loadu_si512(table + 16));
    }
    return _mm512_i32gather_epi32(_mm512_add_epi32(row, _mm512_set1_epi32(k)), flat, 4);
  }
};

// Each lane's parent symbol at `parents` (kBatchLanes values).
inline ProductionLookup lookup(const uint32_t* by_symbol, const uint32_t* flat, int m, const uint32_t* parents) {
  const __m512i symbol = _mm512_loadu_si512(parents);
  return {by_symbol, flat, symbol, _mm512_mullo_epi32(symbol, _mm512_set1_epi32(2 * m))};
}

const uint32_t* table_or_null(const std::vector<uint32_t>& table) { return table.empty() ? nullptr : table.data(); }

// Production r's children of each lane's parent symbol, stored as its drawn children.
inline void store_children(const uint32_t* rules, __m512i row, __m512i r, uint32_t* children) {
  const __m512i at = _mm512_add_epi32(row, _mm512_add_epi32(r, r));
  _mm512_storeu_si512(children, _mm512_i32gather_epi32(at, rules, 4));
  _mm512_storeu_si512(children + kBatchLanes, _mm512_i32gather_epi32(_mm512_add_epi32(at, _mm512_set1_epi32(1)), rules, 4));
}

}  // namespace

void avx512_sample_range(const BatchPlan& plan, const BatchMessages& batch, const NodeRange& range, bool prefetch,
                         LaneDraws& draws) {
  const auto& p = plan.grammar->params;
  const BatchLevelPlan& level = plan.levels[static_cast<size_t>(range.level)];
  const int m = level.m, n_children = level.n_children;
  const int64_t begin = plan.node_offset[static_cast<size_t>(range.level)];
  const int64_t children_begin = plan.node_offset[static_cast<size_t>(range.level) + 1];
  const uint32_t* rules = level.rules.data();
  Streams streams = load_streams(draws);
  static thread_local Weights weights;
  if (plan.pair_table && range.level == p.L - 1) {
    // Spike leaves: a child's likelihood is leaf_high at its observed token,
    // leaf_low elsewhere, leaf_masked everywhere when it is masked.
    const uint32_t* rules_by_symbol = table_or_null(level.rules_by_symbol);
    const __m512i lane_start = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                                  _mm512_set1_epi32(static_cast<int>(batch.lane_stride)));
    const __m512i mask_token = _mm512_set1_epi32(p.v);
    const __m512 low = _mm512_set1_ps(plan.leaf_low), high = _mm512_set1_ps(plan.leaf_high),
                 masked = _mm512_set1_ps(plan.leaf_masked);
    for (int64_t i = range.first; i < range.first + range.count; ++i) {
      const ProductionLookup production = lookup(rules_by_symbol, rules, m, draws.symbols + (begin + i) * kBatchLanes);
      const __m512i at = _mm512_add_epi32(lane_start, _mm512_set1_epi32(static_cast<int>(2 * i)));
      __m512i observed[2];
      __m512 other[2], own[2];  // each child's likelihood off and at its observed token
      for (int j = 0; j < 2; ++j) {
        observed[j] = _mm512_i32gather_epi32(_mm512_add_epi32(at, _mm512_set1_epi32(j)), batch.tokens.data(), 4);
        const __mmask16 is_masked = _mm512_cmpeq_epi32_mask(observed[j], mask_token);
        other[j] = _mm512_mask_blend_ps(is_masked, low, masked);
        own[j] = _mm512_mask_blend_ps(is_masked, high, masked);
      }
      weights.start(m);
      for (int r = 0; r < m; ++r) {
        __m512 value[2];
        for (int j = 0; j < 2; ++j)
          value[j] = _mm512_mask_blend_ps(_mm512_cmpeq_epi32_mask(production.at(r, j), observed[j]), other[j], own[j]);
        weights.add(r, value[0], value[1]);
      }
      store_children(rules, production.row, draw(weights, m, streams),
                     draws.symbols + (children_begin + 2 * i) * kBatchLanes);
    }
    store_streams(streams, draws);
    return;
  }
  if (plan.virtual_pair_level && range.level == p.L - 2) {
    // The children's messages are rows of the pair table: lane l's child j of
    // node i is the row of its observed tokens 4i + 2j, 4i + 2j + 1.
    const uint32_t* rules_by_symbol = table_or_null(level.rules_by_symbol);
    const __m512i lane_start = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                                  _mm512_set1_epi32(static_cast<int>(batch.lane_stride)));
    const __m512i tokens = _mm512_set1_epi32(p.v + 1), row_length = _mm512_set1_epi32(n_children);
    for (int64_t i = range.first; i < range.first + range.count; ++i) {
      const ProductionLookup production = lookup(rules_by_symbol, rules, m, draws.symbols + (begin + i) * kBatchLanes);
      const __m512i at = _mm512_add_epi32(lane_start, _mm512_set1_epi32(static_cast<int>(4 * i)));
      __m512i row[2];  // each child's row in pair_up, as an index of its first value
      for (int j = 0; j < 2; ++j) {
        const __m512i first = _mm512_i32gather_epi32(_mm512_add_epi32(at, _mm512_set1_epi32(2 * j)), batch.tokens.data(), 4);
        const __m512i second = _mm512_i32gather_epi32(_mm512_add_epi32(at, _mm512_set1_epi32(2 * j + 1)), batch.tokens.data(), 4);
        row[j] = _mm512_mullo_epi32(_mm512_add_epi32(_mm512_mullo_epi32(first, tokens), second), row_length);
      }
      weights.start(m);
      for (int r = 0; r < m; ++r) {
        __m512 value[2];
        for (int j = 0; j < 2; ++j)
          value[j] = _mm512_i32gather_ps(_mm512_add_epi32(row[j], production.at(r, j)), plan.pair_up.data(), 4);
        weights.add(r, value[0], value[1]);
      }
      store_children(rules, production.row, draw(weights, m, streams),
                     draws.symbols + (children_begin + 2 * i) * kBatchLanes);
    }
    store_streams(streams, draws);
    return;
  }
  const uint32_t* offsets_by_symbol = table_or_null(level.rule_offsets_by_symbol);
  const __m512i lane_bytes = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60);
  const LaneBlock* child_up = batch.up.data() + plan.block_offset[static_cast<size_t>(range.level) + 1];
  const int64_t child_blocks = 2 * static_cast<int64_t>(n_children);
  for (int64_t i = range.first; i < range.first + range.count; ++i) {
    const LaneBlock* child = child_up + i * child_blocks;
    // The next node's children are out of cache on deep trees unless the fused
    // downward pass has just written next to them.
    if (prefetch && i + 1 < range.first + range.count)
      for (int64_t k = 0; k < child_blocks; ++k) _mm_prefetch(reinterpret_cast<const char*>(child + child_blocks + k), _MM_HINT_T0);
    const ProductionLookup offset = lookup(offsets_by_symbol, level.rule_offsets.data(), m, draws.symbols + (begin + i) * kBatchLanes);
    weights.start(m);
    for (int r = 0; r < m; ++r) {
      __m512 value[2];
      for (int j = 0; j < 2; ++j)
        value[j] = _mm512_i32gather_ps(_mm512_add_epi32(offset.at(r, j), lane_bytes), child->value, 1);
      weights.add(r, value[0], value[1]);
    }
    store_children(rules, offset.row, draw(weights, m, streams), draws.symbols + (children_begin + 2 * i) * kBatchLanes);
  }
  store_streams(streams, draws);
}

}  // namespace hdiff::batch_detail
