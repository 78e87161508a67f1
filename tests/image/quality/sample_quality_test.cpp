// `hdiff images sample-quality` end to end on a tiny random grey ADM, the shipped
// classifier and a small IDX test split; and its refusals.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "image/io/image_io.h"
#include "support/helpers.h"
#include "tiny_fashion_mnist.h"

namespace fs = std::filesystem;

namespace {

using hdiff::testing::run_hdiff;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("hdiff_quality_test_" + std::to_string(::getpid()));
  TempDir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string classifier_args() {
  const auto dir = fs::path(HDIFF_SOURCE_DIR) / "models" / "fashion-mnist" / "classifier";
  return " --classifier " + (dir / "classifier.safetensors").string() + " --classifier-config " +
         (dir / "classifier.json").string();
}

TEST(SampleQuality, DrawsSamplesAndMeasuresThem) {
  TempDir t;
  hdiff::testing::write_tiny_grey_adm(t.path / "adm");
  hdiff::testing::write_tiny_idx(t.path / "idx", 40);
  const auto out = t.path / "out";
  const std::string command = "images sample-quality --checkpoint " + (t.path / "adm" / "diffusion.safetensors").string() +
                              " --model-config " + (t.path / "adm" / "diffusion.json").string() + classifier_args() +
                              " --data " + (t.path / "idx").string() + " --samples 6 --steps 3 --device cpu";
  const auto r = run_hdiff(command + " --batch 4 --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nlohmann::json::parse(std::ifstream(out / "sample_quality.json"));
  EXPECT_EQ(report, nlohmann::json::parse(r.out));  // the report is also printed
  EXPECT_EQ(report["samples"], 6);
  EXPECT_GE(report["frechet_distance"].get<double>(), 0.0);
  EXPECT_GE(report["frechet_distance_test_floor"].get<double>(), 0.0);
  int total = 0;
  for (const auto& c : report["class_counts"]) total += c.get<int>();
  EXPECT_EQ(total, 6);
  for (int i = 0; i < 6; ++i) {
    const auto png = out / "samples" / ("sample_0000" + std::to_string(i) + ".png");
    const auto image = hdiff::image::read_image(png);
    EXPECT_EQ(image.width, 28);
  }
  const auto grid = hdiff::image::read_image(out / "samples_grid.png");
  EXPECT_EQ(grid.width, 10 * 30 + 2);
  EXPECT_EQ(grid.height, 30 + 2);
  std::ifstream histogram(out / "class_histogram.csv");
  std::string header;
  std::getline(histogram, header);
  EXPECT_EQ(header, "label,class,count,fraction");

  // The same seed draws the same samples, whatever the batch.
  const auto again = run_hdiff(command + " --batch 6 --out " + (t.path / "again").string());
  ASSERT_EQ(again.exit_code, 0) << again.err;
  for (int i = 0; i < 6; ++i) {
    const auto name = "samples/sample_0000" + std::to_string(i) + ".png";
    EXPECT_EQ(hdiff::image::read_image(out / name).rgb, hdiff::image::read_image(t.path / "again" / name).rgb) << name;
  }
  // A finished folder is not replaced without --force.
  const auto refused = run_hdiff(command + " --batch 4 --out " + out.string());
  EXPECT_EQ(refused.exit_code, 2);
}

TEST(SampleQuality, TestImagesAgainstThemselvesAreAtTheFloor) {
  TempDir t;
  hdiff::testing::write_tiny_idx(t.path / "idx", 40);
  // The even-indexed test images, written as samples: the same set as the floor's first n of half A.
  const auto export_dir = t.path / "even";
  fs::create_directories(export_dir);
  const auto r0 = run_hdiff("images fashion-mnist --data " + (t.path / "idx").string() + " --count 40 --out " +
                            (t.path / "all").string());
  ASSERT_EQ(r0.exit_code, 0) << r0.err;
  for (int i = 0; i < 40; i += 2) {
    const auto name = "t10k_" + std::string(i < 10 ? "0000" : "000") + std::to_string(i) + ".png";
    fs::copy_file(t.path / "all" / std::to_string(i % 10) / name, export_dir / name);
  }
  const auto r = run_hdiff("images sample-quality --samples-from " + export_dir.string() + classifier_args() +
                           " --data " + (t.path / "idx").string() + " --out " + (t.path / "out").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nlohmann::json::parse(r.out);
  EXPECT_NEAR(report["frechet_distance"].get<double>(), report["frechet_distance_test_floor"].get<double>(), 1e-9);
  EXPECT_NEAR(report["frechet_distance"].get<double>(), report["frechet_distance_test_halves"].get<double>(), 1e-9);
  EXPECT_EQ(report["samples"], 20);
}

TEST(SampleQuality, BadInputsAreOneLineAndWriteNothing) {
  TempDir t;
  hdiff::testing::write_tiny_idx(t.path / "idx", 20);
  const auto out = t.path / "out";
  const std::string base = "images sample-quality" + classifier_args() + " --data " + (t.path / "idx").string() +
                           " --out " + out.string();
  const std::pair<std::string, std::string> cases[] = {
      {" --samples-from " + (t.path / "nowhere").string(), "does not exist or is not a folder"},
      {" --samples 1 --samples-from " + (t.path / "idx").string(), "--samples must be at least 2"},
      {"", "give --checkpoint F.safetensors and --model-config F.json"},
      {" --checkpoint " + (t.path / "none.safetensors").string() + " --model-config " + (t.path / "none.json").string(),
       "diffusion checkpoint"},
  };
  for (const auto& [args, message] : cases) {
    const auto r = run_hdiff(base + args);
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_EQ(r.err.rfind("hdiff: error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(out)) << args;
  }
  // A hostile test split (labels cut short) is refused by the IDX reader.
  std::ofstream(t.path / "idx" / "t10k-labels-idx1-ubyte", std::ios::binary) << std::string("\0\0\x08\x01\0\0\0\x14\x01", 9);
  const auto r = run_hdiff(base + " --samples-from " + (t.path / "idx").string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
