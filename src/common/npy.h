#pragma once
// NumPy .npy files (format 1.0/2.0, little-endian, C order): the array format of
// hdiff's command-line inputs and outputs.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hdiff {

// Element types hdiff reads and writes.
enum class DType { u8, u16, u32, u64, i8, i16, i32, i64, f32, f64 };

// The NumPy descr string of a dtype, e.g. "<u2".
std::string dtype_descr(DType dtype);
// Bytes per element.
size_t dtype_size(DType dtype);
// The smallest unsigned type that holds values up to max_value.
DType smallest_unsigned(uint64_t max_value);

// A loaded array: raw little-endian bytes and its shape.
struct NpyArray {
  DType dtype = DType::u8;
  std::vector<int64_t> shape;
  std::vector<unsigned char> bytes;
  // Number of elements (product of shape).
  int64_t size() const;
};

// Reads an .npy file; errors name the file and what is wrong with it.
NpyArray read_npy(const std::filesystem::path& path);

// Parses the bytes of an .npy file; `file` names it in errors. The header is
// validated in full (keys, dtype, shape, overflow-checked size) before any copy.
NpyArray parse_npy(std::string_view content, const std::string& file);

// Serialises an array to .npy bytes.
std::string npy_bytes(DType dtype, const std::vector<int64_t>& shape, const void* data);

// Writes an .npy file through a temporary file and a rename.
void write_npy(const std::filesystem::path& path, DType dtype, const std::vector<int64_t>& shape,
               const void* data);

// Writes unsigned integers with the smallest unsigned dtype that fits max_value.
void write_npy_unsigned(const std::filesystem::path& path, const std::vector<int64_t>& shape,
                        const std::vector<uint32_t>& values, uint64_t max_value);

// `count` elements of `dtype` at `data` (any alignment) as uint32; `what` names the
// array in errors. Negative values, values above max_value and non-integer dtypes are errors.
std::vector<uint32_t> elements_to_u32(DType dtype, const void* data, size_t count, const std::string& what,
                                      uint64_t max_value);

// `count` float32 or float64 elements at `data` as double; NaN, infinity or another dtype is an error.
std::vector<double> elements_to_f64(DType dtype, const void* data, size_t count, const std::string& what);

// Checks uint32 values in place: one above max_value is an error naming `what` and the element.
void check_token_range(std::span<const uint32_t> values, const std::string& what, uint64_t max_value);

// Checks doubles in place: NaN or infinity is an error naming `what` and the element.
void check_finite(std::span<const double> values, const std::string& what);

// Elements of an integer array as uint32; `what` names the array in errors.
// Negative values or values above max_value are errors.
std::vector<uint32_t> npy_to_u32(const NpyArray& array, const std::string& what, uint64_t max_value);

// Elements of a floating-point array as double; NaN or infinity is an error.
std::vector<double> npy_to_f64(const NpyArray& array, const std::string& what);

}  // namespace hdiff
