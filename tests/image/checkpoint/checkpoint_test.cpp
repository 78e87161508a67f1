// The checkpoint reader on the real fixture files and on broken or hostile ones.

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"
#include "image/checkpoint/checkpoint.h"
#include "image/checkpoint/archive_support.h"
#include "support/helpers.h"

namespace fs = std::filesystem;
using namespace std::string_literals;
using namespace hdiff::ckpt;

namespace {

const fs::path kAdm = fs::path(HDIFF_FIXTURES_DIR) / "image" / "adm_a";

fs::path temp_path(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("hdiff_test_ckpt_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

void spit(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary);
  out << s;
}

// A PyTorch-layout archive with the given pickle and storages data/0, data/1, ...
fs::path make_archive(const std::string& name, const std::string& pickle, const std::vector<std::string>& storages) {
  return hdiff::testing::write_torch_archive(temp_path(name), pickle, storages);
}

std::string u32(uint32_t n) { return std::string(reinterpret_cast<const char*>(&n), 4); }
std::string unicode(const std::string& s) { return "X" + u32(static_cast<uint32_t>(s.size())) + s; }

// {"a": tensor of `size` floats over a 4-float storage}
std::string tensor_pickle(int size) {
  return std::string("\x80\x02}(") + unicode("a") + "ctorch._utils\n_rebuild_tensor_v2\n((" + unicode("storage") +
         "ctorch\nFloatStorage\n" + unicode("0") + unicode("cpu") + "K\x04tQK"s + '\0' + "K" +
         std::string(1, static_cast<char>(size)) + "\x85K\x01\x85\x89)tRu.";
}

using hdiff::testing::error_of;
using hdiff::testing::read_text;

}  // namespace

TEST(Checkpoint, ReadsAdmStateDict) {
  const TensorList tensors = read_tensors(kAdm / "model.pt");
  ASSERT_EQ(tensors.size(), 216u);
  EXPECT_EQ(tensors[0].first, "time_embed.0.weight");
  EXPECT_EQ(tensors[0].second.shape, (std::vector<int64_t>{128, 32}));
  EXPECT_EQ(tensors[0].second.dtype, TensorDType::f32);
  EXPECT_EQ(tensors[0].second.bytes.size(), 128u * 32u * 4u);
}

TEST(Checkpoint, ReadsDictsOfTensorsAndNumbers) {
  const Value fb = read_checkpoint(kAdm / "forward_backward.pt");
  EXPECT_EQ(integer_at(fb, "k", "fb"), 5);
  EXPECT_EQ(integer_at(fb, "num_steps", "fb"), 10);
  const Tensor& x0 = tensor_at(fb, "x0", "fb");
  EXPECT_EQ(x0.shape, (std::vector<int64_t>{2, 3, 32, 32}));
  const auto values = x0.to_f32();
  for (float v : values) EXPECT_LE(std::abs(v), 1.0f);
  const Tensor t = read_tensor(kAdm / "unet_io.pt", "t");
  EXPECT_EQ(t.dtype, TensorDType::i64);
  EXPECT_EQ(t.to_i64().size(), 2u);
}

TEST(Checkpoint, ReadsListsOfStringsAndBytes) {
  const Value io = read_checkpoint(fs::path(HDIFF_FIXTURES_DIR) / "image" / "convnext" / "io.pt");
  const Value* names = io.find("layer_names");
  ASSERT_NE(names, nullptr);
  ASSERT_EQ(names->kind, Value::Kind::list);
  ASSERT_FALSE(names->list.empty());
  EXPECT_EQ(names->list[0]->kind, Value::Kind::string);
  EXPECT_EQ(tensor_at(io, "image_uint8", "io").dtype, TensorDType::u8);
}

TEST(Checkpoint, TruncatedArchiveIsNamed) {
  const std::string bytes = read_text(kAdm / "unet_io.pt");
  const fs::path p = temp_path("truncated.pt");
  spit(p, bytes.substr(0, bytes.size() / 2));
  const std::string msg = error_of([&] { read_checkpoint(p); });
  EXPECT_NE(msg.find("truncated or corrupted checkpoint archive"), std::string::npos) << msg;
}

TEST(Checkpoint, CorruptedStorageIsNamed) {
  std::string bytes = read_text(kAdm / "unet_io.pt");
  // Flip bytes in the middle of the file, inside a raw tensor storage: its CRC fails.
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 16; ++i) bytes[i] = static_cast<char>(~bytes[i]);
  const fs::path p = temp_path("corrupted.pt");
  spit(p, bytes);
  const std::string msg = error_of([&] { read_checkpoint(p); });
  EXPECT_NE(msg.find("corrupted"), std::string::npos) << msg;
}

TEST(Checkpoint, NotACheckpointIsNamed) {
  const fs::path p = temp_path("text.pt");
  spit(p, "hello, this is not a checkpoint\n");
  EXPECT_NE(error_of([&] { read_checkpoint(p); }).find("not a checkpoint"), std::string::npos);
  EXPECT_NE(error_of([&] { read_checkpoint(temp_path("missing.pt")); }).find("does not exist"), std::string::npos);
}

TEST(Checkpoint, ForbiddenGlobalIsRejectedByName) {
  const std::string pickle = std::string("\x80\x02") + "cos\nsystem\nq\x00" + unicode("echo pwned") + "\x85R.";
  const fs::path p = make_archive("evil.pt", pickle, {});
  const std::string msg = error_of([&] { read_checkpoint(p); });
  EXPECT_NE(msg.find("unsupported global 'os.system' at byte 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("data.pkl"), std::string::npos) << msg;
}

TEST(Checkpoint, UnsupportedOpcodeIsRejectedByName) {
  const std::string pickle = std::string("\x80\x02") + "ccollections\nOrderedDict\n)\x81.";
  const fs::path p = make_archive("newobj.pt", pickle, {});
  const std::string msg = error_of([&] { read_checkpoint(p); });
  EXPECT_NE(msg.find("unsupported pickle opcode 0x81 at byte"), std::string::npos) << msg;
}

TEST(Checkpoint, StorageOutOfBoundsIsNamed) {
  const std::string storage(16, '\0');
  const fs::path ok = make_archive("ok.pt", tensor_pickle(4), {storage});
  EXPECT_EQ(read_tensor(ok, "a").numel(), 4);
  const fs::path bad = make_archive("oob.pt", tensor_pickle(8), {storage});
  const std::string msg = error_of([&] { read_checkpoint(bad); });
  EXPECT_NE(msg.find("storage out of bounds"), std::string::npos) << msg;
}

TEST(Checkpoint, ReadsSafetensors) {
  const std::string header = R"({"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"__metadata__":{"a":"b"}})";
  uint64_t n = header.size();
  std::string file(reinterpret_cast<const char*>(&n), 8);
  file += header;
  file += std::string("\x00\x3c\x00\xc0", 4);  // 1.0, -2.0 in half precision
  const fs::path p = temp_path("w.safetensors");
  spit(p, file);
  const TensorList t = read_tensors(p);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].second.to_f32(), (std::vector<float>{1.0f, -2.0f}));
  spit(p, file.substr(0, file.size() - 2));
  EXPECT_NE(error_of([&] { read_checkpoint(p); }).find("storage out of bounds"), std::string::npos);
}

TEST(Checkpoint, TensorSpecSplitsAtLastColon) {
  EXPECT_EQ(split_tensor_spec("a/b.pt:x0").second, "x0");
  EXPECT_EQ(split_tensor_spec("C:/b.pt:x0").first, fs::path("C:/b.pt"));
  EXPECT_THROW(split_tensor_spec("file.pt"), hdiff::Error);
}
