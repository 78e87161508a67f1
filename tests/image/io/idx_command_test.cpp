// `hdiff images fashion-mnist` (issue 30): the package's images come out as PNG
// folders with their labels; a hostile IDX file is exit 2 with one line naming
// it, and nothing is written.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "image/io/idx.h"
#include "image/io/image_io.h"
#include "support/helpers.h"

namespace fs = std::filesystem;
using namespace std::string_literals;
using hdiff::testing::read_text;
using hdiff::testing::run_hdiff;

namespace {

fs::path fresh(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("hdiff_test_idx_command_" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void spit(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

void expect_one_line_error(const hdiff::testing::CommandResult& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("hdiff: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << needle << " not in: " << r.err;
}

}  // namespace

TEST(FashionMnistCommand, WritesPngFoldersWithLabels) {
  const auto dir = fresh("export");
  const auto r = run_hdiff("images fashion-mnist --count 5 --out fm", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto csv = read_text(dir / "fm" / "labels.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 6) << csv;
  // Image 0 of the test split is an ankle boot (label 9).
  EXPECT_NE(csv.find("0,9/t10k_00000.png,9,Ankle boot\n"), std::string::npos) << csv;
  const auto picture = hdiff::image::read_image(dir / "fm" / "9" / "t10k_00000.png");
  const auto set = hdiff::image::read_fashion_mnist(hdiff::image::kFashionMnistDir, "t10k");
  ASSERT_EQ(picture.width, 28);
  ASSERT_EQ(picture.height, 28);
  for (size_t p = 0; p < 28 * 28; ++p)
    for (size_t c = 0; c < 3; ++c) ASSERT_EQ(picture.rgb[3 * p + c], set.pixels[p]) << p;
}

TEST(FashionMnistCommand, HostileIdxIsOneLineAndNoOutput) {
  const auto dir = fresh("hostile");
  const auto labels = "\x00\x00\x08\x01"s + be32(2) + "\x01\x02"s;
  const auto write_split = [&](const std::string& images) {
    spit(dir / "t10k-images-idx3-ubyte", images);
    spit(dir / "t10k-labels-idx1-ubyte", labels);
  };
  write_split("\x00\x00\x08\x03"s + be32(0xFFFFFFFFu) + be32(0xFFFFFFFFu) + be32(0xFFFFFFFFu));
  auto r = run_hdiff("images fashion-mnist --data . --out fm", dir);
  expect_one_line_error(r, "t10k-images-idx3-ubyte': its header declares 4294967295x4294967295x4294967295");
  EXPECT_FALSE(fs::exists(dir / "fm"));
  write_split("\x00\x00\x08\x03"s + be32(3) + be32(28) + be32(28) + std::string(3 * 28 * 28, '\x10'));
  r = run_hdiff("images fashion-mnist --data . --out fm", dir);
  expect_one_line_error(r, "3 images but 2 labels");
  EXPECT_FALSE(fs::exists(dir / "fm"));
  write_split("\x1f\x8b\x08\x00garbage"s);
  r = run_hdiff("images fashion-mnist --data . --out fm", dir);
  expect_one_line_error(r, "gzip stream");
  EXPECT_FALSE(fs::exists(dir / "fm"));
}
