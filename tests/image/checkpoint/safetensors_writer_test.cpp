// The safetensors writer against the project's own reader: round trip,
// identical bytes for identical input, metadata read back, refusals.

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "image/checkpoint/checkpoint.h"
#include "image/checkpoint/safetensors_writer.h"
#include "support/helpers.h"

namespace fs = std::filesystem;
using namespace hdiff::ckpt;
using hdiff::testing::error_of;
using hdiff::testing::fresh_folder;
using hdiff::testing::read_text;

namespace {

Tensor f32_tensor(std::vector<int64_t> shape, std::vector<float> values) {
  Tensor t;
  t.dtype = TensorDType::f32;
  t.shape = std::move(shape);
  t.bytes.resize(values.size() * 4);
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

Tensor i64_scalar(int64_t value) {
  Tensor t;
  t.dtype = TensorDType::i64;
  t.bytes.resize(8);
  std::memcpy(t.bytes.data(), &value, 8);
  return t;
}

TensorList sample_tensors() {
  return {{"z.weight", f32_tensor({2, 3}, {1, 2, 3, 4, 5, 6})},
          {"a.bias", f32_tensor({3}, {-1.5f, 0, 7})},
          {"adam.step", i64_scalar(42)}};
}

}  // namespace

TEST(SafetensorsWriter, RoundTripsThroughTheReader) {
  const fs::path file = fresh_folder("st_roundtrip") / "m.safetensors";
  write_safetensors(file, sample_tensors(), {{"grammar", "v=8"}, {"step", "12"}});
  const TensorList back = read_tensors(file);
  const TensorList original = sample_tensors();
  ASSERT_EQ(back.size(), original.size());
  for (size_t i = 0; i < back.size(); ++i) {  // the data keep the order given
    EXPECT_EQ(back[i].first, original[i].first);
    EXPECT_EQ(back[i].second.dtype, original[i].second.dtype);
    EXPECT_EQ(back[i].second.shape, original[i].second.shape);
    EXPECT_EQ(back[i].second.bytes, original[i].second.bytes);
  }
  EXPECT_EQ(back[2].second.to_i64(), std::vector<int64_t>{42});
  const auto metadata = read_safetensors_metadata(file);
  EXPECT_EQ(metadata, (Metadata{{"grammar", "v=8"}, {"step", "12"}}));
}

TEST(SafetensorsWriter, SameInputSameBytesAndAlignedHeader) {
  const std::string a = safetensors_bytes(sample_tensors(), {{"k", "v"}});
  const std::string b = safetensors_bytes(sample_tensors(), {{"k", "v"}});
  EXPECT_EQ(a, b);
  uint64_t header = 0;
  std::memcpy(&header, a.data(), 8);
  EXPECT_EQ(header % 8, 0u);
  EXPECT_EQ(a.size(), 8 + header + 6 * 4 + 3 * 4 + 8);
  EXPECT_NE(a, safetensors_bytes(sample_tensors(), {{"k", "w"}}));
}

TEST(SafetensorsWriter, NoMetadataReadsAsEmpty) {
  const fs::path file = fresh_folder("st_nometa") / "m.safetensors";
  write_safetensors(file, sample_tensors(), {});
  EXPECT_TRUE(read_safetensors_metadata(file).empty());
  EXPECT_EQ(read_text(file).find("__metadata__"), std::string::npos);
}

TEST(SafetensorsWriter, RefusesDuplicateAndMismatchedTensors) {
  TensorList twice = {{"a", f32_tensor({1}, {1})}, {"a", f32_tensor({1}, {2})}};
  EXPECT_NE(error_of([&] { safetensors_bytes(twice, {}); }).find("two tensors named 'a'"), std::string::npos);
  TensorList short_one = {{"b", f32_tensor({1}, {1})}};
  short_one[0].second.shape = {2};
  EXPECT_NE(error_of([&] { safetensors_bytes(short_one, {}); }).find("'b'"), std::string::npos);
}

TEST(SafetensorsWriter, MetadataOfADamagedFileIsRefused) {
  const fs::path file = fresh_folder("st_damaged") / "m.safetensors";
  std::string bytes = safetensors_bytes(sample_tensors(), {{"k", "v"}});
  bytes.resize(bytes.size() - 3);
  std::ofstream(file, std::ios::binary) << bytes;
  EXPECT_NE(error_of([&] { read_safetensors_metadata(file); }).find(file.string()), std::string::npos);
  EXPECT_NE(error_of([&] { read_tensors(file); }).find(file.string()), std::string::npos);
}
