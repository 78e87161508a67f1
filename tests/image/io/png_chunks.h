#pragma once
// Test-only PNG building blocks: the tests craft PNG files chunk by chunk (valid
// CRCs, chosen header fields) and then damage them.

#include <cstdint>
#include <string>

#include "common/crc32.h"

namespace hdiff::testing {

// `v` as four big-endian bytes, as PNG stores lengths and CRCs.
inline std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// One PNG chunk: length, type, data and the CRC-32 of type and data.
inline std::string chunk(const std::string& type, const std::string& data) {
  const std::string typed = type + data;
  return be32(static_cast<uint32_t>(data.size())) + typed +
         be32(hdiff::crc32({reinterpret_cast<const unsigned char*>(typed.data()), typed.size()}));
}

}  // namespace hdiff::testing
