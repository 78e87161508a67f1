// Hostile checkpoints (issue 10), crafted here byte by byte: every one must end
// in an hdiff::Error that names the file and the problem, never in a crash, an
// out-of-bounds read, a leak or another exception.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"
#include "image/checkpoint/checkpoint.h"
#include "image/checkpoint/pickle.h"
#include "image/checkpoint/archive_support.h"
#include "support/helpers.h"

namespace fs = std::filesystem;
using namespace std::string_literals;
using namespace hdiff::ckpt;
using hdiff::testing::error_of;

namespace {

fs::path temp_path(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("hdiff_test_hostile_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

void spit(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

// A PyTorch-layout archive with the given pickle and storages data/0, data/1, ...
fs::path make_archive(const std::string& name, const std::string& pickle, const std::vector<std::string>& storages) {
  return hdiff::testing::write_torch_archive(temp_path(name), pickle, storages);
}

std::string u32(uint32_t n) { return std::string(reinterpret_cast<const char*>(&n), 4); }
std::string unicode(const std::string& s) { return "X" + u32(static_cast<uint32_t>(s.size())) + s; }
// A pickled integer of any int64 value (LONG1 with 8 bytes).
std::string long8(int64_t v) { return "\x8a\x08"s + std::string(reinterpret_cast<const char*>(&v), 8); }

// {"a": tensor over a storage of `numel` floats, with the given offset, sizes and strides}
std::string tensor_pickle(int64_t numel, int64_t offset, const std::vector<int64_t>& size,
                          const std::vector<int64_t>& stride) {
  auto tuple = [](const std::vector<int64_t>& xs) {
    std::string t = "(";
    for (int64_t x : xs) t += long8(x);
    return t + "t";
  };
  return "\x80\x02}("s + unicode("a") + "ctorch._utils\n_rebuild_tensor_v2\n((" + unicode("storage") +
         "ctorch\nFloatStorage\n" + unicode("0") + unicode("cpu") + long8(numel) + "tQ" + long8(offset) +
         tuple(size) + tuple(stride) + "\x89)tRu.";
}

// Unpickles without storages (none are needed by these pickles).
std::string unpickle_error(const std::string& pickle) {
  return error_of([&] {
    (void)detail::unpickle(pickle, "x.pkl", [](const detail::StorageRequest&) -> detail::StorageBytes {
      return std::make_shared<const std::vector<unsigned char>>(16);
    });
  });
}

std::string safetensors(const std::string& header, const std::string& data) {
  const uint64_t n = header.size();
  return std::string(reinterpret_cast<const char*>(&n), 8) + header + data;
}

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

}  // namespace

TEST(HostileCheckpoint, DeepNestingIsRefusedNotRecursed) {
  // A million nested lists, tuples or dicts: refused while parsing, so no recursive destructor runs deep.
  const int n = 1000000;
  const std::string lists = "\x80\x02"s + std::string(n, ']') + std::string(n - 1, 'a') + ".";
  EXPECT_TRUE(has(unpickle_error(lists), "nested more than 64 levels")) << unpickle_error(lists);
  const std::string tuples = "\x80\x02"s + std::string(n, '(') + std::string(n, 't') + ".";
  EXPECT_TRUE(has(unpickle_error(tuples), "nested more than 64 levels"));
  std::string dicts = "\x80\x02";
  for (int i = 0; i < n; ++i) dicts += "}" + unicode("k");
  dicts += "N" + std::string(n, 's') + ".";
  EXPECT_TRUE(has(unpickle_error(dicts), "nested more than 64 levels"));
  // Nesting within the limit still reads.
  const std::string shallow = "\x80\x02"s + std::string(60, ']') + std::string(59, 'a') + ".";
  EXPECT_EQ(unpickle_error(shallow), "(no error)");
}

TEST(HostileCheckpoint, CyclesAreRefused) {
  // A dict holding itself through the memo.
  const std::string self = "\x80\x02}q\x00"s + unicode("a") + "h\x00s."s;
  EXPECT_TRUE(has(unpickle_error(self), "contains itself")) << unpickle_error(self);
  // L0 placed in L1, then L1 appended to L0: L0 is sealed once nested.
  const std::string indirect = "\x80\x02]q\x00]q\x01h\x00" "a0h\x01" "a."s;
  EXPECT_TRUE(has(unpickle_error(indirect), "changed after it was placed")) << unpickle_error(indirect);
  // A shared (not cyclic) reference is fine: the same list under two keys.
  EXPECT_EQ(unpickle_error("\x80\x02}"s + unicode("a") + "]q\x00s"s + unicode("b") + "h\x00s."s), "(no error)");
  // The cyclic pickle through the whole reader, as --checkpoint and --input-tensor use it.
  const fs::path p = make_archive("cycle.pt", self, {});
  EXPECT_TRUE(has(error_of([&] { read_tensors(p); }), "cycle.pt")) << error_of([&] { read_tensors(p); });
}

TEST(HostileCheckpoint, ExtentArithmeticCannotWrap) {
  const std::string floats(16, '\0');
  const auto read = [&](const std::string& name, const std::string& pickle) {
    return error_of([&] { read_tensors(make_archive(name, pickle, {floats})); });
  };
  // Stride 2^62: the last element's offset overflows; it must not pass as in bounds.
  const auto huge_stride = read("stride.pt", tensor_pickle(4, 0, {2}, {int64_t{1} << 62}));
  EXPECT_TRUE(has(huge_stride, "stride.pt") && has(huge_stride, "reads past the end")) << huge_stride;
  const auto wrap = read("wrap.pt", tensor_pickle(4, 0, {3, int64_t{1} << 62}, {1, 1}));
  EXPECT_TRUE(has(wrap, "too many elements") || has(wrap, "reads past the end")) << wrap;
  // Sizes whose product wraps to 0 (2^32 · 2^32 · 0): refused, not an empty tensor.
  const auto zero = read("zero.pt", tensor_pickle(4, 0, {int64_t{1} << 32, int64_t{1} << 32, 0}, {0, 0, 0}));
  EXPECT_TRUE(has(zero, "too many elements")) << zero;
  const auto negative = read("negative.pt", tensor_pickle(4, 0, {-1, 2}, {1, 1}));
  EXPECT_TRUE(has(negative, "negative size")) << negative;
  const auto offset = read("offset.pt", tensor_pickle(4, -1, {2}, {1}));
  EXPECT_TRUE(has(offset, "negative storage offset")) << offset;
  const auto huge_offset = read("offset2.pt", tensor_pickle(4, INT64_MAX, {2}, {1}));
  EXPECT_TRUE(has(huge_offset, "reads past the end")) << huge_offset;
  // A broadcast view (stride 0) larger than its storage would inflate memory.
  const auto broadcast = read("broadcast.pt", tensor_pickle(4, 0, {int64_t{1} << 40}, {0}));
  EXPECT_TRUE(has(broadcast, "more elements than its storage")) << broadcast;
  // A storage record with a negative or overflowing element count.
  const auto count = read("count.pt", tensor_pickle(-4, 0, {2}, {1}));
  EXPECT_TRUE(has(count, "declares -4 elements")) << count;
  const auto overflow = read("count2.pt", tensor_pickle(INT64_MAX / 2, 0, {2}, {1}));
  EXPECT_TRUE(has(overflow, "declares")) << overflow;
  // An empty tensor is fine (and converts without touching a null pointer).
  const TensorList empty = read_tensors(make_archive("empty.pt", tensor_pickle(4, 0, {0, 3}, {3, 1}), {floats}));
  ASSERT_EQ(empty.size(), 1u);
  EXPECT_TRUE(empty[0].second.to_f32().empty());
}

TEST(HostileCheckpoint, StorageEntriesMustMatchTheirRecords) {
  // An entry far larger than its record (a small archive inflating to much more) is refused before it is read.
  const std::string zeros(1 << 20, '\0');
  const auto big = error_of([&] { read_tensors(make_archive("big.pt", tensor_pickle(4, 0, {4}, {1}), {zeros})); });
  EXPECT_TRUE(has(big, "big.pt") && has(big, "holds 1048576 bytes but its tensor record needs 16")) << big;
  const auto small = error_of([&] { read_tensors(make_archive("small.pt", tensor_pickle(8, 0, {8}, {1}), {"abcd"})); });
  EXPECT_TRUE(has(small, "holds 4 bytes but its tensor record needs 32")) << small;
}

TEST(HostileCheckpoint, NonFiniteTensorsAreRefused) {
  float values[4] = {1.0f, NAN, 2.0f, 3.0f};
  const std::string nan(reinterpret_cast<const char*>(values), 16);
  const fs::path p = make_archive("nan.pt", tensor_pickle(4, 0, {4}, {1}), {nan});
  const auto error = error_of([&] { read_tensors(p); });
  EXPECT_TRUE(has(error, "nan.pt") && has(error, "'a' holds NaN or infinity (element 1)")) << error;
  EXPECT_TRUE(has(error_of([&] { read_tensor(p, "a"); }), "NaN or infinity"));
  const fs::path inf = temp_path("inf.safetensors");
  spit(inf, safetensors(R"({"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", "\x00\x3c\x00\x7c"s));
  EXPECT_TRUE(has(error_of([&] { read_tensors(inf); }), "'w' holds NaN or infinity (element 1)"));
}

TEST(HostileCheckpoint, SafetensorsHeadersAreValidatedInFull) {
  const std::string data(8, '\0');
  const std::pair<std::string, std::string> cases[] = {
      {R"({"w": 5})", "'w' is not an object"},
      {R"({"w": {"dtype": "F32", "shape": [2]}})", "has no data_offsets"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0]}})", "has no data_offsets"},
      {R"({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", "not a non-negative integer"},
      {R"({"w": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}})", "not a non-negative integer"},
      {R"({"w": {"shape": [2], "data_offsets": [0, 8]}})", "has no dtype"},
      {R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 0], "data_offsets": [0, 8]}})", "does not fit"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
           "v": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", "overlaps"},
      {R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", "gap"},
      {R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", "belong to no tensor"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "x": 1e400})", "not valid JSON"},
      {R"({"w": )" + std::string(100000, '[') + std::string(100000, ']') + "}", "nested more than 64"},
  };
  const fs::path p = temp_path("h.safetensors");
  for (const auto& [header, problem] : cases) {
    spit(p, safetensors(header, data));
    const auto error = error_of([&] { read_tensors(p); });
    EXPECT_TRUE(has(error, "h.safetensors") && has(error, problem)) << header.substr(0, 80) << ": " << error;
  }
  spit(p, safetensors(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", data));
  EXPECT_EQ(read_tensors(p).size(), 1u);
}
