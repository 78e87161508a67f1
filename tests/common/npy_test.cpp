// .npy reading and writing, and all-or-nothing output.

#include "common/npy.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "common/output.h"
#include "support/helpers.h"

namespace hdiff {
namespace {

namespace fs = std::filesystem;

using testing::error_of;
using testing::fresh_folder;

TEST(Npy, RoundTripsEveryDtypeAndShape) {
  const auto folder = fresh_folder("npy");
  const std::vector<double> values = {1.5, -2.25, 3e-300, 4e300, 0, 7};
  write_npy(folder / "a.npy", DType::f64, {2, 3}, values.data());
  const auto array = read_npy(folder / "a.npy");
  EXPECT_EQ(array.dtype, DType::f64);
  EXPECT_EQ(array.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(npy_to_f64(array, "a"), values);
  const std::vector<uint32_t> tokens = {0, 255, 3, 9};
  write_npy_unsigned(folder / "t.npy", {4}, tokens, 255);
  const auto narrow = read_npy(folder / "t.npy");
  EXPECT_EQ(narrow.dtype, DType::u8);
  EXPECT_EQ(npy_to_u32(narrow, "t", 255), tokens);
  write_npy_unsigned(folder / "w.npy", {2, 2}, tokens, 256);
  EXPECT_EQ(read_npy(folder / "w.npy").dtype, DType::u16);
  // The data starts at a multiple of 64 bytes, as NumPy requires of version 1.0 files.
  EXPECT_EQ((fs::file_size(folder / "t.npy") - 4) % 64, 0u);
  fs::remove_all(folder);
}

TEST(Npy, BadFilesGiveClearErrors) {
  const auto folder = fresh_folder("npy-bad");
  EXPECT_NE(error_of([&] { read_npy(folder / "missing.npy"); }).find("no such file"), std::string::npos);
  std::ofstream(folder / "text.npy") << "hello";
  EXPECT_NE(error_of([&] { read_npy(folder / "text.npy"); }).find("not a NumPy .npy file"), std::string::npos);
  const std::vector<int64_t> values = {1, 2, 3, 4};
  const std::string bytes = npy_bytes(DType::i64, {4}, values.data());
  std::ofstream(folder / "short.npy", std::ios::binary) << bytes.substr(0, bytes.size() - 3);
  EXPECT_NE(error_of([&] { read_npy(folder / "short.npy"); }).find("truncated"), std::string::npos);
  std::ofstream(folder / "v.npy", std::ios::binary) << bytes;
  const auto array = read_npy(folder / "v.npy");
  EXPECT_NE(error_of([&] { npy_to_u32(array, "tokens", 2); }).find("out of range"), std::string::npos);
  EXPECT_NE(error_of([&] { npy_to_f64(array, "values"); }).find("not float32 or float64"), std::string::npos);
  const std::vector<int64_t> negative = {-1};
  std::ofstream(folder / "n.npy", std::ios::binary) << npy_bytes(DType::i64, {1}, negative.data());
  EXPECT_NE(error_of([&] { npy_to_u32(read_npy(folder / "n.npy"), "tokens", 5); }).find("negative"), std::string::npos);
  const std::vector<double> nan = {std::nan("")};
  std::ofstream(folder / "nan.npy", std::ios::binary) << npy_bytes(DType::f64, {1}, nan.data());
  EXPECT_NE(error_of([&] { npy_to_f64(read_npy(folder / "nan.npy"), "x"); }).find("not finite"), std::string::npos);
  fs::remove_all(folder);
}

}  // namespace
}  // namespace hdiff
