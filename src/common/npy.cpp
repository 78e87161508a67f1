#include "common/npy.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "common/error.h"
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

// Value of `key` in the header dict, as the raw text up to the next top-level comma.
std::string header_field(const std::string& header, const std::string& key, const std::string& file) {
  const auto at = header.find("'" + key + "'");
  if (at == std::string::npos) fail("{}: not a valid .npy file (header has no '{}')", file, key);
  auto pos = header.find(':', at);
  if (pos == std::string::npos) fail("{}: not a valid .npy file (malformed header)", file);
  ++pos;
  while (pos < header.size() && header[pos] == ' ') ++pos;
  if (pos < header.size() && header[pos] == '(') {
    const auto end = header.find(')', pos);
    if (end == std::string::npos) fail("{}: not a valid .npy file (malformed shape)", file);
    return header.substr(pos, end - pos + 1);
  }
  const auto end = header.find_first_of(",}", pos);
  return header.substr(pos, end - pos);
}

std::string trim_quotes(std::string text) {
  while (!text.empty() && (text.back() == ' ')) text.pop_back();
  if (text.size() >= 2 && (text.front() == '\'' || text.front() == '"')) text = text.substr(1, text.size() - 2);
  return text;
}

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

NpyArray read_npy(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read {}: no such file or not readable", file);
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    fail("{}: not a NumPy .npy file (bad magic); save arrays with numpy.save", file);
  const int major = static_cast<unsigned char>(magic[6]);
  uint32_t header_length = 0;
  if (major == 1) {
    unsigned char length[2];
    if (!in.read(reinterpret_cast<char*>(length), 2)) fail("{}: truncated .npy header", file);
    header_length = length[0] | (length[1] << 8);
  } else if (major == 2 || major == 3) {
    unsigned char length[4];
    if (!in.read(reinterpret_cast<char*>(length), 4)) fail("{}: truncated .npy header", file);
    header_length = length[0] | (length[1] << 8) | (length[2] << 16) | (static_cast<uint32_t>(length[3]) << 24);
    if (header_length > (1u << 24)) fail("{}: .npy header too long", file);
  } else {
    fail("{}: unsupported .npy format version {}", file, major);
  }
  std::string header(header_length, '\0');
  if (!in.read(header.data(), header_length)) fail("{}: truncated .npy header", file);

  NpyArray array;
  const std::string descr = trim_quotes(header_field(header, "descr", file));
  bool known = false;
  for (const auto& t : kTypes) {
    std::string alternative = t.descr;
    if (alternative[0] == '<') alternative[0] = '|';
    if (descr == t.descr || (t.size == 1 && descr == alternative) || (t.size == 1 && descr == std::string("<") + (t.descr + 1))) {
      array.dtype = t.dtype;
      known = true;
    }
  }
  if (!known)
    fail("{}: unsupported dtype '{}'; use little-endian uint8/16/32/64, int8/16/32/64, float32 or float64", file, descr);
  const std::string fortran = header_field(header, "fortran_order", file);
  if (fortran.find("True") != std::string::npos) fail("{}: Fortran-ordered arrays are not supported; save with numpy.ascontiguousarray", file);
  const std::string shape_text = header_field(header, "shape", file);
  std::string digits;
  for (char c : shape_text.substr(1)) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits += c;
    } else if (!digits.empty()) {
      if (digits.size() > 15) fail("{}: array dimension too large", file);
      array.shape.push_back(std::stoll(digits));
      digits.clear();
    }
  }
  const auto count = array.size();
  const auto element = dtype_size(array.dtype);
  if (count < 0 || static_cast<uint64_t>(count) > std::numeric_limits<uint64_t>::max() / element)
    fail("{}: array too large", file);
  const auto bytes = static_cast<size_t>(count) * element;
  const auto here = in.tellg();
  in.seekg(0, std::ios::end);
  const auto available = static_cast<size_t>(in.tellg() - here);
  if (available < bytes) fail("{}: truncated: shape needs {} bytes of data, file has {}", file, bytes, available);
  if (available > bytes) fail("{}: {} bytes of trailing data after the array; the header's shape is wrong", file, available - bytes);
  in.seekg(here);
  array.bytes.resize(bytes);
  in.read(reinterpret_cast<char*>(array.bytes.data()), static_cast<std::streamsize>(bytes));
  return array;
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
std::vector<T> load_elements(const NpyArray& array) {
  std::vector<T> out(static_cast<size_t>(array.size()));
  std::memcpy(out.data(), array.bytes.data(), array.bytes.size());
  return out;
}

template <typename Source>
std::vector<uint32_t> integers_to_u32(const NpyArray& array, const std::string& what, uint64_t max_value) {
  const auto source = load_elements<Source>(array);
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

std::vector<uint32_t> npy_to_u32(const NpyArray& array, const std::string& what, uint64_t max_value) {
  switch (array.dtype) {
    case DType::u8: return integers_to_u32<uint8_t>(array, what, max_value);
    case DType::u16: return integers_to_u32<uint16_t>(array, what, max_value);
    case DType::u32: return integers_to_u32<uint32_t>(array, what, max_value);
    case DType::u64: return integers_to_u32<uint64_t>(array, what, max_value);
    case DType::i8: return integers_to_u32<int8_t>(array, what, max_value);
    case DType::i16: return integers_to_u32<int16_t>(array, what, max_value);
    case DType::i32: return integers_to_u32<int32_t>(array, what, max_value);
    case DType::i64: return integers_to_u32<int64_t>(array, what, max_value);
    default: fail("{}: dtype {} is not an integer type; tokens must be integers", what, dtype_descr(array.dtype));
  }
}

std::vector<double> npy_to_f64(const NpyArray& array, const std::string& what) {
  std::vector<double> out;
  if (array.dtype == DType::f64) {
    out = load_elements<double>(array);
  } else if (array.dtype == DType::f32) {
    const auto narrow = load_elements<float>(array);
    out.assign(narrow.begin(), narrow.end());
  } else {
    fail("{}: dtype {} is not float32 or float64", what, dtype_descr(array.dtype));
  }
  for (size_t i = 0; i < out.size(); ++i)
    if (!std::isfinite(out[i])) fail("{}: element {} is not finite", what, i);
  return out;
}

}  // namespace hdiff
