#pragma once
// The CRC-32 of zip archives and PNG chunks (IEEE 802.3, polynomial 0xEDB88320),
// computed by zlib: the same values hdiff's journals have always stored.

#include <cstdint>
#include <span>

namespace hdiff {

// CRC-32 of `bytes`, continuing from `crc` (0 to start).
uint32_t crc32(std::span<const unsigned char> bytes, uint32_t crc = 0);

}  // namespace hdiff
