// Internal to src/bp: the batch kernels' code, included once per instruction set
// inside a namespace of its own (the includer sets HDIFF_KERNEL_NAME). Every
// operation acts on whole lane vectors and no operation mixes lanes, so a lane's
// result does not depend on the others. Sums run in a fixed order.

#include <cstring>

#if defined(__AVX512F__)
// GCC 12's shuffle intrinsics start from an undefined register, which its own
// headers then report as uninitialised (only there: the pragma covers the header).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

// The kernels are internal to their translation unit, so the ABI of vector
// arguments does not matter.
#pragma GCC diagnostic ignored "-Wpsabi"

#include "bp/batch_kernels.h"

namespace hdiff::batch_detail {
namespace {

#if defined(__AVX512F__)
// A lane vector as one 512-bit register.
typedef float Full __attribute__((vector_size(64)));
typedef int32_t FullMask __attribute__((vector_size(64)));
static_assert(sizeof(Full) == sizeof(LaneBlock));

struct Vector {
  Full value{};
};
inline Vector operator+(Vector a, Vector b) { return {a.value + b.value}; }
inline Vector operator*(Vector a, Vector b) { return {a.value * b.value}; }
inline Vector operator/(Vector a, Vector b) { return {a.value / b.value}; }

inline Vector load(const LaneBlock& block) {
  Vector x;
  std::memcpy(&x.value, block.value, sizeof x.value);
  return x;
}
inline void store(LaneBlock& block, Vector x) { std::memcpy(block.value, &x.value, sizeof x.value); }
inline Vector broadcast(float x) { return {Full{} + x}; }
// Per lane: -1 where value is below the float floor (or NaN), else 0.
inline void small_lanes(Vector value, int32_t* lanes) {
  const FullMask small = !(value.value >= (Full{} + kFloatFloor));
  std::memcpy(lanes, &small, sizeof small);
}
inline void lane_values(Vector x, float* values) { std::memcpy(values, &x.value, sizeof x.value); }
#else
// A lane vector as two 256-bit halves: GCC keeps these in registers, where a
// 512-bit vector type on AVX2 goes through the stack.
typedef float Half __attribute__((vector_size(32)));
typedef int32_t HalfMask __attribute__((vector_size(32)));
constexpr int kHalf = kBatchLanes / 2;
static_assert(sizeof(Half) * 2 == sizeof(LaneBlock));

struct Vector {
  Half low{}, high{};
};
inline Vector operator+(Vector a, Vector b) { return {a.low + b.low, a.high + b.high}; }
inline Vector operator*(Vector a, Vector b) { return {a.low * b.low, a.high * b.high}; }
inline Vector operator/(Vector a, Vector b) { return {a.low / b.low, a.high / b.high}; }

inline Vector load(const LaneBlock& block) {
  Vector x;
  std::memcpy(&x.low, block.value, sizeof x.low);
  std::memcpy(&x.high, block.value + kHalf, sizeof x.high);
  return x;
}
inline void store(LaneBlock& block, Vector x) {
  std::memcpy(block.value, &x.low, sizeof x.low);
  std::memcpy(block.value + kHalf, &x.high, sizeof x.high);
}
inline Vector broadcast(float x) { return {Half{} + x, Half{} + x}; }
// Per lane: -1 where value is below the float floor (or NaN), else 0.
inline void small_lanes(Vector value, int32_t* lanes) {
  const Half floor = Half{} + kFloatFloor;
  const HalfMask small_low = !(value.low >= floor), small_high = !(value.high >= floor);
  std::memcpy(lanes, &small_low, sizeof small_low);
  std::memcpy(lanes + kHalf, &small_high, sizeof small_high);
}
inline void lane_values(Vector x, float* values) {
  std::memcpy(values, &x.low, sizeof x.low);
  std::memcpy(values + kHalf, &x.high, sizeof x.high);
}
#endif
inline Vector& operator+=(Vector& a, Vector b) { return a = a + b; }
inline Vector& operator*=(Vector& a, Vector b) { return a = a * b; }

// Marks lanes whose value is below the float floor (or NaN) for the double path.
inline void mark_small(Vector value, int32_t* fallback) {
  int32_t lanes[kBatchLanes];
  small_lanes(value, lanes);
  for (int l = 0; l < kBatchLanes; ++l) fallback[l] |= lanes[l];
}

// Folds the totals into the lanes' running products, keeping each mantissa in [1, 2).
inline void fold_total(Vector total, LaneState state) {
  float values[kBatchLanes];
  lane_values(total, values);
  for (int l = 0; l < kBatchLanes; ++l) {
    const double product = state.mantissa[l] * static_cast<double>(values[l]);
    uint64_t bits;
    std::memcpy(&bits, &product, sizeof bits);
    state.exponent[l] += static_cast<int64_t>((bits >> 52) & 0x7ff) - 1023;
    bits = (bits & ~(uint64_t{0x7ff} << 52)) | (uint64_t{1023} << 52);
    std::memcpy(&state.mantissa[l], &bits, sizeof bits);
  }
}

// Σ_b x[b] (with y[b] given: Σ_b x[b]·y[b]) in four interleaved sums, a fixed order.
inline Vector sum_blocks(const LaneBlock* x, int n) {
  Vector s0{}, s1{}, s2{}, s3{};
  int b = 0;
  for (; b + 3 < n; b += 4) {
    s0 += load(x[b]);
    s1 += load(x[b + 1]);
    s2 += load(x[b + 2]);
    s3 += load(x[b + 3]);
  }
  for (; b < n; ++b) s0 += load(x[b]);
  return (s0 + s1) + (s2 + s3);
}
inline Vector dot_blocks(const LaneBlock* x, const LaneBlock* y, int n) {
  Vector s0{}, s1{}, s2{}, s3{};
  int b = 0;
  for (; b + 3 < n; b += 4) {
    s0 += load(x[b]) * load(y[b]);
    s1 += load(x[b + 1]) * load(y[b + 1]);
    s2 += load(x[b + 2]) * load(y[b + 2]);
    s3 += load(x[b + 3]) * load(y[b + 3]);
  }
  for (; b < n; ++b) s0 += load(x[b]) * load(y[b]);
  return (s0 + s1) + (s2 + s3);
}

void upward(const BatchLevelPlan& level, int64_t count, const LaneBlock* children, LaneBlock* parents,
            LaneState state) {
  const int n_parents = level.n_parents, n_children = level.n_children, m = level.m, s = level.s;
  for (int64_t i = 0; i < count; ++i) {
    const LaneBlock* child = children + i * s * n_children;
    LaneBlock* parent = parents + i * n_parents;
    const uint32_t* rule = level.rules.data();
    if (s == 2) {
      // Children by byte offset: no index arithmetic in the loop.
      const char* base = reinterpret_cast<const char*>(child);
      const uint32_t* offset = level.rule_offsets.data();
      auto at = [base](uint32_t bytes) { return load(*reinterpret_cast<const LaneBlock*>(base + bytes)); };
      for (int a = 0; a < n_parents; ++a) {
        // Two chains per parent hide the latency of the multiply-adds.
        Vector even{}, odd{};
        int r = 0;
        for (; r + 1 < m; r += 2, offset += 4) {
          even += at(offset[0]) * at(offset[1]);
          odd += at(offset[2]) * at(offset[3]);
        }
        if (r < m) {
          even += at(offset[0]) * at(offset[1]);
          offset += 2;
        }
        store(parent[a], even + odd);
      }
    } else {
      for (int a = 0; a < n_parents; ++a) {
        Vector sum{};
        for (int r = 0; r < m; ++r, rule += s) {
          Vector product = load(child[rule[0]]);
          for (int j = 1; j < s; ++j) product *= load(child[j * n_children + rule[j]]);
          sum += product;
        }
        store(parent[a], sum);
      }
    }
    const Vector total = sum_blocks(parent, n_parents);
    mark_small(total, state.fallback);
    const Vector inverse = broadcast(1.0f) / total;
    for (int a = 0; a < n_parents; ++a) store(parent[a], load(parent[a]) * inverse);
    fold_total(total, state);
  }
}

// Normalises one child's downward message and returns Σ_b u(b)·w(b) afterwards.
inline Vector finish_child(LaneBlock* out, const LaneBlock* up, int n, int32_t* fallback) {
  // One pass for both sums: Σ_b w(b) and Σ_b w(b)·u(b), in four interleaved chains.
  Vector total0{}, total1{}, mass0{}, mass1{};
  int b = 0;
  for (; b + 1 < n; b += 2) {
    const Vector w0 = load(out[b]), w1 = load(out[b + 1]);
    total0 += w0;
    total1 += w1;
    mass0 += w0 * load(up[b]);
    mass1 += w1 * load(up[b + 1]);
  }
  if (b < n) {
    const Vector w0 = load(out[b]);
    total0 += w0;
    mass0 += w0 * load(up[b]);
  }
  const Vector total = total0 + total1;
  mark_small(total, fallback);
  const Vector inverse = broadcast(1.0f) / total;
  for (int k = 0; k < n; ++k) store(out[k], load(out[k]) * inverse);
  const Vector mass = (mass0 + mass1) * inverse;
  mark_small(mass, fallback);
  return mass;
}

void downward(const BatchLevelPlan& level, int64_t count, const LaneBlock* parent_down, const LaneBlock* child_up,
              LaneBlock* child_down, LaneBlock* child_inverse_mass, int32_t* fallback) {
  const int n_parents = level.n_parents, n_children = level.n_children, m = level.m, s = level.s;
  const uint32_t* entries = level.down_entries.data();
  for (int64_t i = 0; i < count; ++i) {
    const LaneBlock* w = parent_down + i * n_parents;
    const LaneBlock* up = child_up + i * s * n_children;
    // The next node's children were written by the upward pass long ago (deep
    // trees: out of cache) and are read in scattered order: fetch them now.
    if (i + 1 < count)
      for (int k = 0; k < s * n_children; ++k) __builtin_prefetch(up + s * n_children + k);
    if (s == 2) {
      // Gather form, symbol by symbol in runs of equal list length.
      const uint32_t* order = level.down_order.data();
      const uint32_t* run = level.down_runs.data();
      const uint32_t* pair = level.down_pair_offsets.data();
      const char* parent_base = reinterpret_cast<const char*>(w);
      for (int j = 0; j < 2; ++j, run += 2) {
        const char* other_base = reinterpret_cast<const char*>(up + (1 - j) * n_children);
        auto product = [parent_base, other_base](const uint32_t* entry) {
          return load(*reinterpret_cast<const LaneBlock*>(parent_base + entry[0])) *
                 load(*reinterpret_cast<const LaneBlock*>(other_base + entry[1]));
        };
        LaneBlock* out = child_down + (2 * i + j) * n_children;
        for (; run[1] != 0; run += 2) {
          const uint32_t length = run[0];
          for (uint32_t q = 0; q < run[1]; ++q) {
            Vector even{}, odd{};
            uint32_t e = 0;
            for (; e + 1 < length; e += 2, pair += 4) {
              even += product(pair);
              odd += product(pair + 2);
            }
            if (e < length) {
              even += product(pair);
              pair += 2;
            }
            store(out[*order++], even + odd);
          }
        }
        const Vector mass = finish_child(out, up + j * n_children, n_children, fallback);
        store(child_inverse_mass[i * 2 + j], broadcast(1.0f) / mass);
      }
      continue;
    }
    for (int j = 0; j < s; ++j) {
      const uint32_t* start = level.down_start.data() + j * (n_children + 1);
      LaneBlock* out = child_down + (i * s + j) * n_children;
      {
        for (int b = 0; b < n_children; ++b) {
          Vector sum{};
          for (uint32_t e = start[b]; e < start[b + 1]; ++e) {
            const uint32_t p = entries[e];
            const uint32_t* rule = level.rules.data() + static_cast<size_t>(p) * s;
            Vector product = load(w[p / static_cast<uint32_t>(m)]);
            for (int k = 0; k < s; ++k)
              if (k != j) product *= load(up[k * n_children + rule[k]]);
            sum += product;
          }
          store(out[b], sum);
        }
      }
      const Vector mass = finish_child(out, up + j * n_children, n_children, fallback);
      store(child_inverse_mass[i * s + j], broadcast(1.0f) / mass);
    }
  }
}

// __builtin_shufflevector: GCC (12 on) and clang both have it; clang has no __builtin_shuffle.
typedef float Quad __attribute__((vector_size(16)));

#if defined(__AVX512F__)
static_assert(kBatchLanes == 16);
// Symbols a … a + 15 of the 16 rows, transposed in registers: 64 shuffles for
// 256 values, half as many as in tiles of 4 × 4 (the shuffle port bounds both).
inline void transpose_16x16(const float* const* rows, int a, LaneBlock* out) {
  __m512 r[16], t[16];
  for (int l = 0; l < 16; ++l) r[l] = _mm512_loadu_ps(rows[l] + a);
  // Per 128-bit lane q: t[2g] = (r_2g[4q], r_2g+1[4q], r_2g[4q+1], r_2g+1[4q+1]), t[2g+1] the same at 4q+2, 4q+3.
  for (int l = 0; l < 16; l += 2) {
    t[l] = _mm512_unpacklo_ps(r[l], r[l + 1]);
    t[l + 1] = _mm512_unpackhi_ps(r[l], r[l + 1]);
  }
  // Per 128-bit lane q: r[4g + c] = rows 4g … 4g+3 at symbol 4q + c.
  for (int g = 0; g < 4; ++g) {
    const __m512d t0 = _mm512_castps_pd(t[4 * g]), t1 = _mm512_castps_pd(t[4 * g + 1]);
    const __m512d t2 = _mm512_castps_pd(t[4 * g + 2]), t3 = _mm512_castps_pd(t[4 * g + 3]);
    r[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
    r[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
    r[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
    r[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
  }
  // Symbol 4q + c gathers 128-bit lane q of r[c], r[4 + c], r[8 + c], r[12 + c].
  constexpr int kEven = _MM_SHUFFLE(2, 0, 2, 0), kOdd = _MM_SHUFFLE(3, 1, 3, 1);
  for (int c = 0; c < 4; ++c) {
    const __m512 x0 = _mm512_shuffle_f32x4(r[c], r[4 + c], kEven), x1 = _mm512_shuffle_f32x4(r[c], r[4 + c], kOdd);
    const __m512 y0 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], kEven), y1 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], kOdd);
    _mm512_store_ps(out[a + c].value, _mm512_shuffle_f32x4(x0, y0, kEven));
    _mm512_store_ps(out[a + 4 + c].value, _mm512_shuffle_f32x4(x1, y1, kEven));
    _mm512_store_ps(out[a + 8 + c].value, _mm512_shuffle_f32x4(x0, y0, kOdd));
    _mm512_store_ps(out[a + 12 + c].value, _mm512_shuffle_f32x4(x1, y1, kOdd));
  }
}
#endif

// In tiles of 16 lanes × 16 symbols with AVX-512, otherwise (and for the rest)
// of 4 lanes × 4 symbols, each transposed in registers.
static_assert(kBatchLanes % 4 == 0);
void transpose_rows(const float* const* rows, int n, LaneBlock* out) {
  int a = 0;
#if defined(__AVX512F__)
  for (; a + 15 < n; a += 16) transpose_16x16(rows, a, out);
#endif
  for (; a + 3 < n; a += 4)
    for (int l = 0; l < kBatchLanes; l += 4) {
      Quad r0, r1, r2, r3;
      std::memcpy(&r0, rows[l] + a, sizeof r0);
      std::memcpy(&r1, rows[l + 1] + a, sizeof r1);
      std::memcpy(&r2, rows[l + 2] + a, sizeof r2);
      std::memcpy(&r3, rows[l + 3] + a, sizeof r3);
      const Quad t0 = __builtin_shufflevector(r0, r1, 0, 4, 1, 5);
      const Quad t1 = __builtin_shufflevector(r2, r3, 0, 4, 1, 5);
      const Quad t2 = __builtin_shufflevector(r0, r1, 2, 6, 3, 7);
      const Quad t3 = __builtin_shufflevector(r2, r3, 2, 6, 3, 7);
      const Quad c0 = __builtin_shufflevector(t0, t1, 0, 1, 4, 5);
      const Quad c1 = __builtin_shufflevector(t0, t1, 2, 3, 6, 7);
      const Quad c2 = __builtin_shufflevector(t2, t3, 0, 1, 4, 5);
      const Quad c3 = __builtin_shufflevector(t2, t3, 2, 3, 6, 7);
      std::memcpy(out[a].value + l, &c0, sizeof c0);
      std::memcpy(out[a + 1].value + l, &c1, sizeof c1);
      std::memcpy(out[a + 2].value + l, &c2, sizeof c2);
      std::memcpy(out[a + 3].value + l, &c3, sizeof c3);
    }
  for (; a < n; ++a)
    for (int l = 0; l < kBatchLanes; ++l) out[a].value[l] = rows[l][a];
}

}  // namespace

#if !defined(HDIFF_KERNEL_SAMPLER)
#define HDIFF_KERNEL_SAMPLER nullptr
#endif
Kernels HDIFF_KERNEL_FUNCTION() { return {HDIFF_KERNEL_NAME, &upward, &transpose_rows, &downward, HDIFF_KERNEL_SAMPLER}; }

}  // namespace hdiff::batch_detail
