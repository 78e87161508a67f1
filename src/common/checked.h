#pragma once
// Overflow-checked arithmetic for sizes and offsets read from files: hostile
// headers must not wrap a product or an extent into a small or negative number.

#include <cstdint>
#include <optional>
#include <span>

namespace hdiff {

// a + b, or nothing if it overflows.
template <typename T>
std::optional<T> checked_add(T a, T b) {
  T out;
  if (__builtin_add_overflow(a, b, &out)) return std::nullopt;
  return out;
}

// a · b, or nothing if it overflows.
template <typename T>
std::optional<T> checked_mul(T a, T b) {
  T out;
  if (__builtin_mul_overflow(a, b, &out)) return std::nullopt;
  return out;
}

// Product of non-negative extents (1 for none), or nothing if an extent is
// negative or the product exceeds `limit`.
inline std::optional<int64_t> checked_element_count(std::span<const int64_t> shape,
                                                    int64_t limit = INT64_MAX) {
  int64_t count = 1;
  for (int64_t extent : shape) {
    if (extent < 0) return std::nullopt;
    auto next = checked_mul(count, extent);
    if (!next) return std::nullopt;
    count = *next;
  }
  // A zero extent makes the product 0 whatever follows, but every extent is still checked above.
  if (count > limit) return std::nullopt;
  return count;
}

}  // namespace hdiff
