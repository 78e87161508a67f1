// HugePageAllocator: small arrays as from operator new (aligned to their type),
// large ones on 2 MiB boundaries; both usable as std::vector storage.

#include "common/huge_pages.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <vector>

namespace hdiff {
namespace {

struct alignas(64) Block {
  float value[16];
};

TEST(HugePageAllocator, SmallArraysKeepTheirTypesAlignment) {
  std::vector<Block, HugePageAllocator<Block>> blocks(10);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(blocks.data()) % alignof(Block), 0u);
}

TEST(HugePageAllocator, LargeArraysStartOnAHugePage) {
  std::vector<uint32_t, HugePageAllocator<uint32_t>> values(3 * kHugePageBytes / sizeof(uint32_t) + 5);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(values.data()) % kHugePageBytes, 0u);
  std::iota(values.begin(), values.end(), 0u);
  EXPECT_EQ(values.back(), values.size() - 1);
  // Growing across the threshold moves the values from one kind of storage to the other.
  std::vector<uint32_t, HugePageAllocator<uint32_t>> grown(8, 7);
  grown.resize(values.size(), 7);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(grown.data()) % kHugePageBytes, 0u);
  EXPECT_EQ(grown[0], 7u);
  EXPECT_EQ(grown.back(), 7u);
}

TEST(HugePageAllocator, ImpossibleSizesThrow) {
  HugePageAllocator<Block> allocator;
  EXPECT_THROW(static_cast<void>(allocator.allocate(SIZE_MAX / sizeof(Block))), std::bad_array_new_length);
}

}  // namespace
}  // namespace hdiff
