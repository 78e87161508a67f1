#include "common/npy.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <string_view>

#include "common/checked.h"
#include "common/error.h"
#include "common/input_file.h"
#include "common/output.h"

namespace hdiff {
namespace {

struct DTypeInfo {
  DType dtype;
  const char* descr;
  size_t size;
};

constexpr DTypeInfo kTypes[] = {
    {DType::u8, "|u1", 1},  {DType::u16, "<u2", 2}, {DType::u32, "<u4", 4}, {DType::u64, "<u8", 8},
    {DType::i8, "|i1", 1},  {DType::i16, "<i2", 2}, {DType::i32, "<i4", 4}, {DType::i64, "<i8", 8},
    {DType::f32, "<f4", 4}, {DType::f64, "<f8", 8},
};

const DTypeInfo& info(DType dtype) {
  for (const auto& t : kTypes)
    if (t.dtype == dtype) return t;
  HDIFF_CHECK(false);
}

// A strict reader of the header, a Python dict literal such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }: exactly these three
// keys, each once, then only padding. Anything else is refused, never guessed.
struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

class HeaderReader {
 public:
  HeaderReader(std::string_view text, const std::string& file) : text_(text), file_(file) {}

  NpyHeader read() {
    NpyHeader header;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    skip_spaces();
    expect('{');
    while (true) {
      skip_spaces();
      if (peek() == '}') break;
      if (pos_ >= text_.size() || peek() == '\n') bad("the dict is not closed with '}'");
      const std::string key = quoted();
      skip_spaces();
      expect(':');
      skip_spaces();
      if (key == "descr" && !seen_descr) {
        header.descr = quoted();
        seen_descr = true;
      } else if (key == "fortran_order" && !seen_order) {
        header.fortran_order = boolean();
        seen_order = true;
      } else if (key == "shape" && !seen_shape) {
        header.shape = tuple();
        seen_shape = true;
      } else {
        bad(fmt::format("unexpected or repeated key '{}'", key));
      }
      skip_spaces();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') bad("expected ',' or '}' after a value");
    }
    ++pos_;
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\0')) ++pos_;
    if (pos_ != text_.size()) bad("text after the closing '}'");
    if (!seen_descr || !seen_order || !seen_shape) bad("it needs the keys 'descr', 'fortran_order' and 'shape'");
    return header;
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    fail("{}: not a valid .npy file (malformed header: {}); save arrays with numpy.save", file_, what);
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_spaces() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }
  void expect(char c) {
    if (peek() != c) bad(fmt::format("expected '{}'", c));
    ++pos_;
  }
  std::string quoted() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') bad("expected a quoted string");
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) bad("unterminated string");
    std::string out(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    if (text_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (text_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    bad("fortran_order must be True or False");
  }
  int64_t dimension() {
    const size_t start = pos_;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    int64_t value = 0;
    const auto [end, error] = std::from_chars(text_.data() + start, text_.data() + pos_, value);
    if (start == pos_) bad("a shape holds non-negative integers only");
    if (error != std::errc() || end != text_.data() + pos_) bad("array dimension too large");
    return value;
  }
  std::vector<int64_t> tuple() {
    std::vector<int64_t> shape;
    expect('(');
    skip_spaces();
    while (peek() != ')') {
      if (shape.size() >= 64) bad("more than 64 dimensions");
      shape.push_back(dimension());
      skip_spaces();
      if (peek() == ',') {
        ++pos_;
        skip_spaces();
      } else if (peek() != ')') {
        bad("a shape holds non-negative integers only");
      }
    }
    ++pos_;
    return shape;
  }

  std::string_view text_;
  const std::string& file_;
  size_t pos_ = 0;
};

}  // namespace

std::string dtype_descr(DType dtype) { return info(dtype).descr; }
size_t dtype_size(DType dtype) { return info(dtype).size; }

DType smallest_unsigned(uint64_t max_value) {
  if (max_value <= 0xFF) return DType::u8;
  if (max_value <= 0xFFFF) return DType::u16;
  if (max_value <= 0xFFFFFFFFULL) return DType::u32;
  return DType::u64;
}

int64_t NpyArray::size() const {
  int64_t n = 1;
  for (auto extent : shape) n *= extent;
  return n;
}

NpyArray parse_npy(std::string_view content, const std::string& file) {
  if (content.size() < 8 || std::memcmp(content.data(), "\x93NUMPY", 6) != 0)
    fail("{}: not a NumPy .npy file (bad magic); save arrays with numpy.save", file);
  const int major = static_cast<unsigned char>(content[6]);
  size_t header_length = 0, header_start = 0;
  const auto byte = [&](size_t i) { return static_cast<size_t>(static_cast<unsigned char>(content[i])); };
  if (major == 1) {
    if (content.size() < 10) fail("{}: truncated .npy header", file);
    header_length = byte(8) | (byte(9) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (content.size() < 12) fail("{}: truncated .npy header", file);
    header_length = byte(8) | (byte(9) << 8) | (byte(10) << 16) | (byte(11) << 24);
    if (header_length > (1u << 24)) fail("{}: .npy header too long", file);
    header_start = 12;
  } else {
    fail("{}: unsupported .npy format version {}", file, major);
  }
  if (content.size() - header_start < header_length) fail("{}: truncated .npy header", file);
  const NpyHeader header = HeaderReader(content.substr(header_start, header_length), file).read();

  NpyArray array;
  bool known = false;
  for (const auto& t : kTypes) {
    std::string alternative = t.descr;
    if (alternative[0] == '<') alternative[0] = '|';
    if (header.descr == t.descr || (t.size == 1 && header.descr == alternative) ||
        (t.size == 1 && header.descr == std::string("<") + (t.descr + 1))) {
      array.dtype = t.dtype;
      known = true;
    }
  }
  if (!known)
    fail("{}: unsupported dtype '{}'; use little-endian uint8/16/32/64, int8/16/32/64, float32 or float64", file,
         header.descr);
  if (header.fortran_order)
    fail("{}: Fortran-ordered arrays are not supported; save with numpy.ascontiguousarray", file);
  array.shape = header.shape;
  const size_t data_start = header_start + header_length;
  const size_t available = content.size() - data_start;
  const auto count = checked_element_count(array.shape);
  const auto bytes = count ? checked_mul(static_cast<uint64_t>(*count), static_cast<uint64_t>(dtype_size(array.dtype)))
                           : std::nullopt;
  if (!bytes) fail("{}: shape ({}) is too large (its byte count overflows)", file, fmt::join(header.shape, ", "));
  if (available < *bytes) fail("{}: truncated: shape needs {} bytes of data, file has {}", file, *bytes, available);
  if (available > *bytes)
    fail("{}: {} bytes of trailing data after the array; the header's shape is wrong", file, available - *bytes);
  array.bytes.assign(content.begin() + static_cast<std::ptrdiff_t>(data_start), content.end());
  return array;
}

NpyArray read_npy(const std::filesystem::path& path) {
  const std::string file = path.string();
  return parse_npy(read_input_file(path, "", kMaxArrayFileBytes), file);
}

std::string npy_bytes(DType dtype, const std::vector<int64_t>& shape, const void* data) {
  std::string shape_text = "(";
  int64_t count = 1;
  for (auto extent : shape) {
    shape_text += std::to_string(extent) + ",";
    count *= extent;
  }
  if (shape.size() > 1) shape_text.pop_back();
  shape_text += ")";
  std::string header = "{'descr': '" + dtype_descr(dtype) + "', 'fortran_order': False, 'shape': " + shape_text + ", }";
  // Pad so that the data starts at a multiple of 64 bytes, newline-terminated.
  const size_t preamble = 10;
  const size_t total = (preamble + header.size() + 1 + 63) / 64 * 64;
  header.append(total - preamble - header.size() - 1, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xFF);
  out += static_cast<char>((header.size() >> 8) & 0xFF);
  out += header;
  out.append(static_cast<const char*>(data), static_cast<size_t>(count) * dtype_size(dtype));
  return out;
}

void write_npy(const std::filesystem::path& path, DType dtype, const std::vector<int64_t>& shape, const void* data) {
  write_file_atomic(path, npy_bytes(dtype, shape, data));
}

void write_npy_unsigned(const std::filesystem::path& path, const std::vector<int64_t>& shape,
                        const std::vector<uint32_t>& values, uint64_t max_value) {
  const DType dtype = smallest_unsigned(max_value);
  switch (dtype) {
    case DType::u8: {
      std::vector<uint8_t> narrow(values.begin(), values.end());
      return write_npy(path, dtype, shape, narrow.data());
    }
    case DType::u16: {
      std::vector<uint16_t> narrow(values.begin(), values.end());
      return write_npy(path, dtype, shape, narrow.data());
    }
    default:
      return write_npy(path, DType::u32, shape, values.data());
  }
}

namespace {

template <typename T>
std::vector<T> load_elements(const unsigned char* bytes, size_t count) {
  std::vector<T> out(count);
  if (count) std::memcpy(out.data(), bytes, count * sizeof(T));
  return out;
}

template <typename Source>
std::vector<uint32_t> integers_to_u32(const unsigned char* bytes, size_t count, const std::string& what,
                                      uint64_t max_value) {
  const auto source = load_elements<Source>(bytes, count);
  std::vector<uint32_t> out(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    const auto value = source[i];
    if constexpr (std::is_signed_v<Source>) {
      if (value < 0) fail("{}: element {} is {}, negative; values must lie in [0, {}]", what, i, value, max_value);
    }
    if (static_cast<uint64_t>(value) > max_value)
      fail("{}: element {} is {}, out of range; values must lie in [0, {}]", what, i, value, max_value);
    out[i] = static_cast<uint32_t>(value);
  }
  return out;
}

}  // namespace

std::vector<uint32_t> elements_to_u32(DType dtype, const void* data, size_t count, const std::string& what,
                                      uint64_t max_value) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  switch (dtype) {
    case DType::u8: return integers_to_u32<uint8_t>(bytes, count, what, max_value);
    case DType::u16: return integers_to_u32<uint16_t>(bytes, count, what, max_value);
    case DType::u32: return integers_to_u32<uint32_t>(bytes, count, what, max_value);
    case DType::u64: return integers_to_u32<uint64_t>(bytes, count, what, max_value);
    case DType::i8: return integers_to_u32<int8_t>(bytes, count, what, max_value);
    case DType::i16: return integers_to_u32<int16_t>(bytes, count, what, max_value);
    case DType::i32: return integers_to_u32<int32_t>(bytes, count, what, max_value);
    case DType::i64: return integers_to_u32<int64_t>(bytes, count, what, max_value);
    default: fail("{}: dtype {} is not an integer type; tokens must be integers", what, dtype_descr(dtype));
  }
}

std::vector<double> elements_to_f64(DType dtype, const void* data, size_t count, const std::string& what) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  std::vector<double> out;
  if (dtype == DType::f64) {
    out = load_elements<double>(bytes, count);
  } else if (dtype == DType::f32) {
    const auto narrow = load_elements<float>(bytes, count);
    out.assign(narrow.begin(), narrow.end());
  } else {
    fail("{}: dtype {} is not float32 or float64", what, dtype_descr(dtype));
  }
  check_finite(out, what);
  return out;
}

void check_token_range(std::span<const uint32_t> values, const std::string& what, uint64_t max_value) {
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i] > max_value)
      fail("{}: element {} is {}, out of range; values must lie in [0, {}]", what, i, values[i], max_value);
}

void check_finite(std::span<const double> values, const std::string& what) {
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i])) fail("{}: element {} is not finite", what, i);
}

std::vector<uint32_t> npy_to_u32(const NpyArray& array, const std::string& what, uint64_t max_value) {
  return elements_to_u32(array.dtype, array.bytes.data(), array.bytes.size() / dtype_size(array.dtype), what,
                         max_value);
}

std::vector<double> npy_to_f64(const NpyArray& array, const std::string& what) {
  return elements_to_f64(array.dtype, array.bytes.data(), array.bytes.size() / dtype_size(array.dtype), what);
}

}  // namespace hdiff
