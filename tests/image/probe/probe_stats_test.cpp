// stats.bin: round trip and precise errors.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "support/helpers.h"
#include "image/probe/probe_stats.h"

namespace hdiff::image {
namespace {

namespace fs = std::filesystem;

using hdiff::testing::error_of;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("hdiff_stats_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

ProbeStats example() {
  ProbeStats s;
  s.num_images = 7;
  s.points.push_back({"features.0", {1.0, -2.5}, {0.25, 3.0}});
  s.points.push_back({"classifier", {0.5, 0.0, 1e-300}, {1.0, 2.0, 3.0}});
  return s;
}

TEST(ProbeStats, RoundTrip) {
  TempDir dir;
  const auto file = dir.path / "stats.bin";
  write_probe_stats(file, example());
  const auto back = read_probe_stats(file);
  EXPECT_EQ(back.num_images, 7u);
  ASSERT_EQ(back.points.size(), 2u);
  EXPECT_EQ(back.points[1].name, "classifier");
  EXPECT_EQ(back.points[1].mean, example().points[1].mean);
  EXPECT_EQ(back.points[0].var, example().points[0].var);
}

TEST(ProbeStats, Errors) {
  TempDir dir;
  const auto file = dir.path / "stats.bin";
  EXPECT_NE(error_of([&] { read_probe_stats(dir.path / "missing.bin"); }).find("make it with `hdiff images stats"),
            std::string::npos);
  std::ofstream(file) << "not stats";
  EXPECT_NE(error_of([&] { read_probe_stats(file); }).find("is not an hdiff stats file"), std::string::npos);
  auto bytes = probe_stats_bytes(example());
  std::ofstream(file, std::ios::binary) << bytes.substr(0, bytes.size() - 3);
  EXPECT_NE(error_of([&] { read_probe_stats(file); }).find("truncated"), std::string::npos);
  std::ofstream(file, std::ios::binary) << bytes << "x";
  EXPECT_NE(error_of([&] { read_probe_stats(file); }).find("trailing bytes"), std::string::npos);
  bytes[8] = 9;  // version
  std::ofstream(file, std::ios::binary) << bytes;
  EXPECT_NE(error_of([&] { read_probe_stats(file); }).find("version 9 is not supported"), std::string::npos);
}

TEST(ProbeStats, HostileFilesAreRefused) {
  TempDir dir;
  const auto file = dir.path / "stats.bin";
  for (double bad : {std::nan(""), -1.0, static_cast<double>(INFINITY)}) {
    auto s = example();
    s.points[1].var[2] = bad;
    std::ofstream(file, std::ios::binary) << probe_stats_bytes(s);
    const auto error = error_of([&] { read_probe_stats(file); });
    EXPECT_NE(error.find("'classifier' channel 2"), std::string::npos) << error;
    EXPECT_NE(error.find("must be finite and non-negative"), std::string::npos) << error;
  }
  // A channel count of 2^32 - 1 in a small file: refused before 64 GiB are allocated.
  auto bytes = probe_stats_bytes(example());
  const size_t count_at = 8 + 4 + 8 + 4 + 4 + std::string("features.0").size();
  for (size_t i = 0; i < 4; ++i) bytes[count_at + i] = '\xff';
  std::ofstream(file, std::ios::binary) << bytes;
  EXPECT_NE(error_of([&] { read_probe_stats(file); }).find("declares 4294967295 channels"), std::string::npos);
}

TEST(ProbeStats, MismatchNamesTheProbePoint) {
  const auto s = example();
  EXPECT_NO_THROW(check_stats_match(s, {"features.0", "classifier"}, {2, 3}, "s.bin"));
  EXPECT_NE(error_of([&] { check_stats_match(s, {"features.0", "classifier"}, {2, 10}, "s.bin"); })
                .find("probe point 'classifier' has 3 channels but the classifier's has 10"),
            std::string::npos);
  EXPECT_NE(error_of([&] { check_stats_match(s, {"features.0"}, {2}, "s.bin"); }).find("has 2 probe points"),
            std::string::npos);
}

}  // namespace
}  // namespace hdiff::image
