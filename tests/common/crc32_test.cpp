// CRC-32 through zlib gives the values hdiff's own table-driven code gave, so
// journals and checkpoints written before still check.

#include "common/crc32.h"

#include <gtest/gtest.h>

#include <string_view>

namespace hdiff {
namespace {

std::span<const unsigned char> bytes_of(std::string_view s) {
  return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

TEST(Crc32, StandardCheckValues) {
  EXPECT_EQ(crc32(bytes_of("")), 0u);
  EXPECT_EQ(crc32(bytes_of("123456789")), 0xCBF43926u);  // the CRC-32/ISO-HDLC check value
  EXPECT_EQ(crc32(bytes_of("IEND")), 0xAE426082u);       // every PNG's last chunk
}

TEST(Crc32, ContinuingEqualsOneCall) { EXPECT_EQ(crc32(bytes_of("56789"), crc32(bytes_of("1234"))), 0xCBF43926u); }

}  // namespace
}  // namespace hdiff
