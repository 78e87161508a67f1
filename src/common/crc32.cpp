#include "common/crc32.h"

#include <zlib.h>

namespace hdiff {

uint32_t crc32(std::span<const unsigned char> bytes, uint32_t crc) {
  // zlib's crc32_z takes a size_t length, so spans over 4 GiB need no splitting.
  return static_cast<uint32_t>(crc32_z(crc, bytes.data(), bytes.size()));
}

}  // namespace hdiff
