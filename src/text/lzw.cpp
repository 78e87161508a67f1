// LZW decoding of compress(1) code streams (lzw.h). Written from the format's
// description, not from any implementation's code.

#include "text/lzw.h"

#include <algorithm>
#include <vector>

#include "common/error.h"

namespace hdiff::text {
namespace {

constexpr int kFirstBits = 9;
constexpr uint32_t kClear = 256;
constexpr uint32_t kFirstFree = 257;

// Reads codes group by group: a group is n_bits bytes (fewer at the end), and
// holds as many whole codes as fit; starting a new group drops the old one's rest.
class CodeReader {
 public:
  explicit CodeReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  // The next code of `bits` bits, or -1 at the end. `new_group` forces a new
  // group (after a width change or a CLEAR).
  int64_t next(int bits, bool new_group) {
    if (new_group || offset_ + static_cast<size_t>(bits) > group_bits_) {
      const size_t size = std::min(static_cast<size_t>(bits), bytes_.size() - at_);
      if (size == 0 || size * 8 < static_cast<size_t>(bits)) return -1;
      group_ = bytes_.subspan(at_, size);
      at_ += size;
      offset_ = 0;
      group_bits_ = size * 8;
    }
    uint32_t code = 0;
    for (int b = 0; b < bits; ++b) {
      const size_t bit = offset_ + static_cast<size_t>(b);
      code |= static_cast<uint32_t>((group_[bit / 8] >> (bit % 8)) & 1u) << b;
    }
    offset_ += static_cast<size_t>(bits);
    return code;
  }

 private:
  std::span<const uint8_t> bytes_;
  std::span<const uint8_t> group_;
  size_t at_ = 0, offset_ = 0, group_bits_ = 0;
};

}  // namespace

std::string lzw_decompress(std::span<const uint8_t> codes, int max_bits, size_t max_output, const std::string& what) {
  if (max_bits < kFirstBits || max_bits > kMaxLzwBits)
    fail("{}: LZW code width {} is outside [{}, {}]", what, max_bits, kFirstBits, kMaxLzwBits);
  const uint32_t table_size = uint32_t{1} << max_bits;
  std::vector<uint16_t> prefix(table_size, 0);
  std::vector<uint8_t> suffix(table_size, 0);
  for (uint32_t c = 0; c < 256; ++c) suffix[c] = static_cast<uint8_t>(c);
  std::vector<uint8_t> stack;
  stack.reserve(table_size);
  std::string out;

  CodeReader reader(codes);
  int bits = kFirstBits;
  uint32_t max_code = (1u << bits) - 1;
  uint32_t free_entry = kFirstFree;
  bool regroup = false;
  // The width grows (and a new group starts) before the code that would need
  // the next entry's width; a CLEAR restarts at 9 bits.
  const auto read = [&]() -> int64_t {
    bool new_group = regroup;
    regroup = false;
    if (free_entry > max_code) {
      ++bits;
      max_code = bits == max_bits ? table_size : (1u << bits) - 1;
      new_group = true;
    }
    return reader.next(bits, new_group);
  };

  int64_t code = read();
  if (code < 0) return out;
  if (code >= 256) fail("{}: the first LZW code is {}, not a literal byte", what, code);
  uint32_t previous = static_cast<uint32_t>(code);
  uint8_t first_byte = static_cast<uint8_t>(code);
  out.push_back(static_cast<char>(first_byte));
  while ((code = read()) >= 0) {
    if (code == kClear) {
      free_entry = kFirstFree - 1;  // the code after a CLEAR defines the unused entry 256
      bits = kFirstBits;
      max_code = (1u << bits) - 1;
      regroup = true;
      if ((code = read()) < 0) break;
      if (code >= 256) fail("{}: LZW code {} follows a CLEAR; a literal byte must", what, code);
    }
    const auto current = static_cast<uint32_t>(code);
    if (current > free_entry)
      fail("{}: LZW code {} refers past the table's next entry {}", what, current, free_entry);
    uint32_t walk = current;
    stack.clear();
    if (current == free_entry) {  // the string being defined: previous + its own first byte
      stack.push_back(first_byte);
      walk = previous;
    }
    while (walk >= 256) {
      stack.push_back(suffix[walk]);
      walk = prefix[walk];
      // Entries point to earlier ones in any stream a compressor writes; a
      // forged stream could make a loop.
      if (stack.size() > table_size) fail("{}: the LZW table holds a loop", what);
    }
    first_byte = suffix[walk];
    stack.push_back(first_byte);
    if (out.size() + stack.size() > max_output)
      fail("{}: the LZW stream decodes to more than {} bytes", what, max_output);
    out.append(stack.rbegin(), stack.rend());
    if (free_entry < table_size) {
      prefix[free_entry] = static_cast<uint16_t>(previous);
      suffix[free_entry] = first_byte;
      ++free_entry;
    }
    previous = current;
  }
  return out;
}

}  // namespace hdiff::text
