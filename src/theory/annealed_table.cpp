#include "theory/annealed_table.h"

#include <algorithm>
#include <utility>

#include "common/error.h"

namespace hdiff {
namespace {

// Above this many tuples a per-thread permutation of all codes costs too much
// memory; the few draws per table then use rejection instead.
constexpr uint64_t kDenseTupleLimit = uint64_t{1} << 22;

uint64_t power_saturated(uint64_t base, int exponent) {
  uint64_t result = 1;
  for (int i = 0; i < exponent; ++i) {
    if (result > (uint64_t{1} << 62) / base) return uint64_t{1} << 62;
    result *= base;
  }
  return result;
}

// The fused draw for codes of kBits bits (v = 2^(kBits/2), s = 2): draws
// `count` distinct codes, code 0 = (0, 0) first (symbol 0's), into `codes`, and
// returns the unnormalised parent messages' total. Each code is kBits random
// bits, uniform on [0, v²): no rejection for range, only for codes already
// taken. Every random word gives 64/kBits candidates, each accepted when its
// byte in `taken` is not yet `stamp`; the accepted ones are exactly the codes
// that rejection one by one would give. The loops have fixed trip counts and no
// data-dependent branch, which would mispredict at random.
template <int kBits>
double fused_draw_and_combine(RandomStream& random, size_t count, int n_parents, int m, const double* left,
                              const double* right, uint8_t stamp, uint8_t* taken, uint32_t* codes, double* parent) {
  constexpr int kShift = kBits / 2;
  constexpr uint32_t kLowMask = (uint32_t{1} << kShift) - 1;
  constexpr uint64_t kCodeMask = (uint64_t{1} << kBits) - 1;
  constexpr int kPerWord = 64 / kBits;
  // The children are two random members of a population far larger than the
  // caches; fetching them now hides the misses behind the draw of the codes.
  for (int b = 0; b < (1 << kShift); b += 8) {
    __builtin_prefetch(left + b);
    __builtin_prefetch(right + b);
  }
  RandomStream local = random;  // keeps the generator's state in registers
  taken[0] = stamp;
  codes[0] = 0;
  size_t accepted = 1;
  while (accepted < count) {
    const uint64_t word = local.next();
    for (int k = 0; k < kPerWord; ++k) {
      const auto code = static_cast<uint32_t>((word >> (k * kBits)) & kCodeMask);
      const bool fresh = taken[code] != stamp;
      taken[code] = stamp;
      codes[accepted] = code;  // room for kPerWord extra candidates
      accepted += fresh;
    }
  }
  random = local;
  // Then the sums, in two chains per parent.
  double total = 0;
  for (int a = 0; a < n_parents; ++a, codes += m) {
    double even = 0, odd = 0;
    int r = 0;
    for (; r + 1 < m; r += 2) {
      even += left[codes[r] >> kShift] * right[codes[r] & kLowMask];
      odd += left[codes[r + 1] >> kShift] * right[codes[r + 1] & kLowMask];
    }
    if (r < m) even += left[codes[r] >> kShift] * right[codes[r] & kLowMask];
    total += parent[a] = even + odd;
  }
  return total;
}

}  // namespace

AnnealedTableSampler::AnnealedTableSampler(int n_parents, int v, int m, int s)
    : n_parents_(n_parents), v_(v), m_(m), s_(s), tuples_(power_saturated(static_cast<uint64_t>(v), s)) {
  const uint64_t productions = static_cast<uint64_t>(n_parents) * static_cast<uint64_t>(m);
  if (productions > tuples_)
    fail("{} parents × m = {} productions exceed the v^s = {} distinct tuples; lower m or raise v or s", n_parents,
         productions, tuples_);
  dense_ = tuples_ <= kDenseTupleLimit;
  // Drawing at most half of the codes, rejection wastes under half its draws
  // and beats Fisher–Yates, whose swaps touch memory at random.
  rejection_ = dense_ && 2 * productions <= tuples_;
  if (rejection_) taken_.assign(static_cast<size_t>((tuples_ + 63) / 64), 0);
  if (dense_) {
    if (!rejection_) {
      permutation_.resize(static_cast<size_t>(tuples_));
      for (uint64_t c = 0; c < tuples_; ++c) permutation_[c] = static_cast<uint32_t>(c);
      swaps_.resize(static_cast<size_t>(productions));
    }
    if (tuples_ * static_cast<uint64_t>(s) <= kDenseTupleLimit) {
      digits_.resize(static_cast<size_t>(tuples_ * s));
      for (uint64_t c = 0; c < tuples_; ++c) {
        uint64_t rest = c;
        for (int j = s - 1; j >= 0; --j) {
          digits_[c * s + j] = static_cast<uint32_t>(rest % static_cast<uint64_t>(v));
          rest /= static_cast<uint64_t>(v);
        }
      }
    }
  } else {
    seen_.reserve(static_cast<size_t>(2 * productions));
  }
  // The fused draw: s = 2, v a power of two and rejection against a bit set.
  if (s == 2 && rejection_ && (v & (v - 1)) == 0 && tuples_ <= (uint64_t{1} << 20))
    while ((uint64_t{1} << code_bits_) < tuples_) ++code_bits_;
  if (code_bits_ > 0) {
    taken_bytes_.assign(static_cast<size_t>(tuples_), 0);
    fused_codes_.resize(static_cast<size_t>(productions) + 64);  // the fused draw may overshoot by a word's codes
  }
  codes_.resize(static_cast<size_t>(productions));
  children_.resize(static_cast<size_t>(productions * s));
}

void AnnealedTableSampler::draw_codes(RandomStream& random) {
  const size_t count = codes_.size();
  codes_[0] = 0;  // (0,…,0): the true parent's chosen production
  if (rejection_) {
    taken_[0] |= 1;
    for (size_t i = 1; i < count; ++i) {
      uint64_t code;
      do code = random.below(tuples_);
      while (taken_[code >> 6] & (uint64_t{1} << (code & 63)));
      taken_[code >> 6] |= uint64_t{1} << (code & 63);
      codes_[i] = code;
    }
    for (size_t i = 0; i < count; ++i) taken_[codes_[i] >> 6] = 0;
  } else if (dense_) {
    // Partial Fisher–Yates over codes 1..v^s-1: an exact uniform ordered draw
    // without replacement, then undone so the permutation is the identity again.
    const uint64_t rest = tuples_ - 1;
    for (size_t i = 1; i < count; ++i) {
      const uint64_t j = i + random.below(rest - (i - 1));
      std::swap(permutation_[i], permutation_[j]);
      swaps_[i] = static_cast<uint32_t>(j);
      codes_[i] = permutation_[i];
    }
    for (size_t i = count - 1; i >= 1; --i) std::swap(permutation_[i], permutation_[swaps_[i]]);
  } else {
    seen_.clear();
    seen_.insert(0);
    for (size_t i = 1; i < count; ++i) {
      uint64_t code;
      do code = random.below(tuples_);
      while (!seen_.insert(code).second);
      codes_[i] = code;
    }
  }
}

void AnnealedTableSampler::decode() {
  const size_t count = codes_.size();
  const auto s = static_cast<size_t>(s_);
  if (!digits_.empty()) {
    for (size_t p = 0; p < count; ++p) {
      const uint32_t* digits = digits_.data() + codes_[p] * s;
      for (size_t j = 0; j < s; ++j) children_[p * s + j] = digits[j];
    }
    return;
  }
  for (size_t p = 0; p < count; ++p) {
    uint64_t rest = codes_[p];
    for (size_t j = s; j-- > 0;) {
      children_[p * s + j] = static_cast<uint32_t>(rest % static_cast<uint64_t>(v_));
      rest /= static_cast<uint64_t>(v_);
    }
  }
}

void AnnealedTableSampler::draw_and_combine(RandomStream& random, const double* left, const double* right,
                                            std::span<double> parent) {
  HDIFF_CHECK(s_ == 2 && parent.size() == static_cast<size_t>(n_parents_));
  if (code_bits_ == 0) {
    const double* child[2] = {left, right};
    draw(random);
    // The plain upward rule (as combine_upward in population.cpp) on the drawn table.
    const uint32_t* rule = children_.data();
    double total = 0;
    for (int a = 0; a < n_parents_; ++a) {
      double sum = 0;
      for (int r = 0; r < m_; ++r, rule += 2) sum += child[0][rule[0]] * child[1][rule[1]];
      total += parent[static_cast<size_t>(a)] = sum;
    }
    if (!(total > 0))
      fail("the messages of density evolution underflowed (every production has probability below double range); "
           "choose a noise level further from the noiseless end");
    for (auto& value : parent) value /= total;
    return;
  }
  // One kernel per code width, so that shifts and the candidates per word are constants.
  using FusedKernel = double (*)(RandomStream&, size_t, int, int, const double*, const double*, uint8_t, uint8_t*,
                                 uint32_t*, double*);
  static constexpr FusedKernel kernels[] = {nullptr,
                                            fused_draw_and_combine<2>,
                                            fused_draw_and_combine<4>,
                                            fused_draw_and_combine<6>,
                                            fused_draw_and_combine<8>,
                                            fused_draw_and_combine<10>,
                                            fused_draw_and_combine<12>,
                                            fused_draw_and_combine<14>,
                                            fused_draw_and_combine<16>,
                                            fused_draw_and_combine<18>,
                                            fused_draw_and_combine<20>};
  // A draw marks its codes with its own stamp, so the marks need clearing only
  // when the stamps wrap around, once in 255 draws.
  if (++stamp_ == 0) {
    std::fill(taken_bytes_.begin(), taken_bytes_.end(), uint8_t{0});
    stamp_ = 1;
  }
  const double total = kernels[code_bits_ / 2](random, static_cast<size_t>(n_parents_) * m_, n_parents_, m_, left,
                                               right, stamp_, taken_bytes_.data(), fused_codes_.data(), parent.data());
  if (!(total > 0))
    fail("the messages of density evolution underflowed (every production has probability below double range); "
         "choose a noise level further from the noiseless end");
  const double inverse = 1.0 / total;
  for (auto& value : parent) value *= inverse;
}

std::vector<uint32_t> AnnealedTableSampler::last_fused_table() const {
  if (code_bits_ == 0) return children_;
  const size_t count = static_cast<size_t>(n_parents_) * m_;
  const int shift = code_bits_ / 2;
  std::vector<uint32_t> table(2 * count);
  for (size_t p = 0; p < count; ++p) {
    table[2 * p] = fused_codes_[p] >> shift;
    table[2 * p + 1] = fused_codes_[p] & ((uint32_t{1} << shift) - 1);
  }
  return table;
}

std::span<const uint32_t> AnnealedTableSampler::draw(RandomStream& random) {
  if (rejection_ && !digits_.empty()) {
    const size_t count = codes_.size();
    const auto s = static_cast<size_t>(s_);
    // A local copy keeps the generator's state in registers through the loop.
    RandomStream local = random;
    std::fill(children_.begin(), children_.begin() + static_cast<ptrdiff_t>(s), 0u);
    taken_[0] |= 1;  // code 0 = (0,…,0) is symbol 0's
    // Two exact bounded draws per 64 random bits: Lemire's method on 32-bit
    // halves (codes fit in 32 bits here), rejecting the low products below 2^32 mod n.
    const auto n = static_cast<uint32_t>(tuples_);
    const auto threshold = static_cast<uint32_t>((uint64_t{1} << 32) % n);
    uint64_t bits = 0;
    int halves = 0;
    auto next_code = [&]() -> uint64_t {
      for (;;) {
        if (halves == 0) {
          bits = local.next();
          halves = 2;
        }
        const auto x = static_cast<uint32_t>(bits);
        bits >>= 32;
        --halves;
        const uint64_t product = static_cast<uint64_t>(x) * n;
        if (static_cast<uint32_t>(product) >= threshold) return product >> 32;
      }
    };
    uint32_t* out = children_.data() + s;
    for (size_t i = 1; i < count; ++i, out += s) {
      uint64_t code;
      do code = next_code();
      while (taken_[code >> 6] & (uint64_t{1} << (code & 63)));
      taken_[code >> 6] |= uint64_t{1} << (code & 63);
      codes_[i] = code;
      const uint32_t* digits = digits_.data() + code * s;
      if (s == 2) {
        out[0] = digits[0];
        out[1] = digits[1];
      } else {
        for (size_t k = 0; k < s; ++k) out[k] = digits[k];
      }
    }
    for (size_t i = 0; i < count; ++i) taken_[codes_[i] >> 6] = 0;
    random = local;
    return children_;
  }
  if (dense_ && !rejection_ && !digits_.empty()) {
    // The common case, fused: draw each code by partial Fisher–Yates and copy its
    // tabulated digits at once.
    const size_t count = codes_.size();
    const auto s = static_cast<size_t>(s_);
    std::fill(children_.begin(), children_.begin() + static_cast<ptrdiff_t>(s), 0u);
    const uint64_t rest = tuples_ - 1;
    uint32_t* out = children_.data() + s;
    for (size_t i = 1; i < count; ++i, out += s) {
      const uint64_t j = i + random.below(rest - (i - 1));
      const uint32_t code = permutation_[j];
      permutation_[j] = permutation_[i];
      permutation_[i] = code;
      swaps_[i] = static_cast<uint32_t>(j);
      const uint32_t* digits = digits_.data() + static_cast<size_t>(code) * s;
      for (size_t k = 0; k < s; ++k) out[k] = digits[k];
    }
    for (size_t i = count - 1; i >= 1; --i) std::swap(permutation_[i], permutation_[swaps_[i]]);
    return children_;
  }
  draw_codes(random);
  decode();
  return children_;
}

}  // namespace hdiff
