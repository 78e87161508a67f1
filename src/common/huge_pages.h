#pragma once
// An allocator for large arrays that are read all over (the batch BP messages
// of deep trees): arrays of 2 MiB and more start on a 2 MiB boundary and are
// marked for transparent huge pages before they are touched, so that they need
// a 512th of the TLB entries. Linux backs anonymous memory with huge pages by
// default only where a program asks (Debian's setting: madvise); elsewhere the
// advice is skipped.

#include <cstddef>
#include <cstdlib>
#include <limits>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace hdiff {

// Arrays from this size on are aligned to it and advised to use huge pages.
inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// A std::allocator that asks for huge pages for arrays of kHugePageBytes and more.
template <class T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <class U>
  explicit HugePageAllocator(const HugePageAllocator<U>&) noexcept {}

  T* allocate(size_t n) {
    if (n > std::numeric_limits<size_t>::max() / sizeof(T) - kHugePageBytes) throw std::bad_array_new_length();
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePageBytes) return static_cast<T*>(::operator new(bytes, std::align_val_t{alignof(T)}));
    const size_t rounded = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
    void* memory = std::aligned_alloc(kHugePageBytes, rounded);
    if (memory == nullptr) throw std::bad_alloc();
#if defined(__linux__)
    madvise(memory, rounded, MADV_HUGEPAGE);  // advice only: without it the array still works
#endif
    return static_cast<T*>(memory);
  }

  void deallocate(T* memory, size_t n) noexcept {
    if (n * sizeof(T) < kHugePageBytes)
      ::operator delete(memory, std::align_val_t{alignof(T)});
    else
      std::free(memory);
  }

  template <class U>
  bool operator==(const HugePageAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace hdiff
