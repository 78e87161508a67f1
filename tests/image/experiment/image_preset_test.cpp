// `hdiff images experiment --preset fashion-mnist`: the preset's experiment file
// runs end to end on a tiny random greyscale ADM and the shipped classifier (with
// fewer images and k), its test images come straight from IDX files, and missing
// models are one error line.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "common/gnuplot.h"
#include "image/io/image_io.h"
#include "support/helpers.h"
#include "tiny_fashion_mnist.h"

namespace fs = std::filesystem;

namespace {

using hdiff::testing::run_hdiff;
const hdiff::testing::RunOptions kMerged{.merge_output = true};

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("hdiff_preset_test_" + std::to_string(::getpid()));
  TempDir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::vector<std::string> read_lines(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

void replace(std::string& text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
}

TEST(ImagePreset, ListsAndPrintsThePreset) {
  TempDir t;
  const auto list = run_hdiff("images experiment --list-presets");
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_EQ(list.out.rfind("fashion-mnist  ", 0), 0u) << list.out;
  const auto printed = run_hdiff("images experiment --models " + (t.path / "m").string() + " --print-preset fashion-mnist");
  EXPECT_EQ(printed.exit_code, 0) << printed.err;
  EXPECT_NE(printed.out.find("checkpoint = \"" + (t.path / "m" / "fashion-mnist" / "diffusion" / "diffusion.safetensors").string()),
            std::string::npos) << printed.out;
  EXPECT_NE(printed.out.find("fashion_mnist = \"/usr/share/datasets/fashion-mnist\""), std::string::npos);
  const auto unknown = run_hdiff("images experiment --print-preset cifar");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err, "hdiff: error: unknown image experiment preset 'cifar'; the presets are: fashion-mnist\n");
}

TEST(ImagePreset, MissingModelsAreOneLineAndWriteNothing) {
  TempDir t;
  const auto out = t.path / "out";
  for (const std::string how : {"--models " + (t.path / "none").string(), std::string()}) {
    const auto r = run_hdiff("images experiment --preset fashion-mnist " + how + " --out " + out.string(), {},
                             {.prefix = how.empty() ? "env HDIFF_MODELS_DIR=" + (t.path / "env").string() + " " : ""});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "");
    const auto expected = (t.path / (how.empty() ? "env" : "none") / "fashion-mnist" / "diffusion" /
                           "diffusion.safetensors").string();
    EXPECT_EQ(r.err.rfind("hdiff: error: the fashion-mnist preset needs " + expected + ", which is missing", 0), 0u)
        << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(out));
  }
  const auto neither = run_hdiff("images experiment --out " + out.string());
  EXPECT_EQ(neither.exit_code, 2);
  EXPECT_EQ(neither.err, "hdiff: error: give --config FILE or --preset NAME (--list-presets)\n");
}

TEST(ImagePreset, RunsEndToEndOnATinyGreyModel) {
  TempDir t;
  hdiff::testing::write_tiny_models(t.path / "models");
  hdiff::testing::write_tiny_idx(t.path / "idx", 30);
  const auto printed = run_hdiff("images experiment --models " + (t.path / "models").string() +
                                 " --print-preset fashion-mnist");
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  // The preset as printed, with 1 image per class, three k and the small IDX files.
  std::string text = printed.out;
  replace(text, "per_class = 10", "per_class = 1");
  replace(text, "k = [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50]", "k = [0, 25, 50]");
  replace(text, "\"/usr/share/datasets/fashion-mnist\"", "\"" + (t.path / "idx").string() + "\"");
  replace(text, "device = \"auto\"", "device = \"cpu\"");
  std::ofstream(t.path / "exp.toml") << text;
  const auto out = t.path / "out";
  const auto r = run_hdiff("images experiment --config " + (t.path / "exp.toml").string() + " --out " + out.string(),
                           {}, kMerged);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("chi of patch changes peaks at k/K = "), std::string::npos) << r.out;

  // The first test image of each class, as grey PNGs named as `hdiff images fashion-mnist` names them.
  for (int label = 0; label < 10; ++label) {
    const auto png = out / "test-images" / std::to_string(label) / ("t10k_0000" + std::to_string(label) + ".png");
    ASSERT_TRUE(fs::is_regular_file(png)) << png;
    EXPECT_TRUE(fs::is_regular_file(out / "k50" / std::to_string(label) / ("t10k_0000" + std::to_string(label) + ".png")));
  }
  const auto summary = read_lines(out / "summary.csv");
  EXPECT_EQ(summary[0], "k,k_over_K,probe,depth,n,similarity_mean,similarity_se,class_kept,class_kept_se");
  const size_t probes = (summary.size() - 1) / 3;
  ASSERT_EQ(summary.size(), 1 + 3 * probes);
  EXPECT_EQ(summary[1].substr(0, 17), "0,0,features.0,0,");
  const auto split = read_lines(out / "similarity_split.csv");
  EXPECT_EQ(split[0], "k,k_over_K,probe,depth,distance,class,n,mean,se");
  EXPECT_EQ(split.size(), 1 + 3 * probes * 3 * 2);
  const auto chi = read_lines(out / "susceptibility.csv");
  ASSERT_EQ(chi.size(), 4u);
  EXPECT_EQ(chi[0], "k,k_over_K,n,mean_change,chi,chi_se,chi_raw,chi_raw_se,class_changed,class_changed_se");
  EXPECT_EQ(chi[3].substr(0, 8), "50,1,10,");
  const auto corr = read_lines(out / "patch_correlations.csv");
  EXPECT_EQ(corr[0], "k,k_over_K,r,pairs,covariance,correlation");
  EXPECT_EQ(corr[1].substr(0, 9), "0,0,0,49,");  // 7x7 patches of 4x4 pixels: 49 pairs at r = 0
  EXPECT_EQ(read_lines(out / "class_changed.csv").size(), 4u);
  // Grid: 10 rows (one per class), x0 and (x_k, x0_hat) for the three k.
  const auto grid = hdiff::image::read_image(out / "trajectories.png");
  EXPECT_EQ(grid.width, 7 * (28 * 2 + 2) + 2);
  EXPECT_EQ(grid.height, 10 * (28 * 2 + 2) + 2);
  const auto cells = read_lines(out / "trajectories.csv");
  EXPECT_EQ(cells[0], "row,column,image,content,k,k_over_K,start_class,generated_class");
  EXPECT_EQ(cells.size(), 1u + 10 * 7);
  EXPECT_EQ(cells[1].substr(0, 17), "0,0,0/t10k_00000,");
  if (hdiff::testing::gnuplot_installed())
    for (const char* figure : {"class_changed", "similarity_split_cosine", "similarity_split_l2",
                               "similarity_split_l2_normalised", "susceptibility", "patch_correlations",
                               "trajectories_labelled"})
      EXPECT_TRUE(hdiff::figure_file_complete(out / (std::string(figure) + ".png"))) << figure;
  const auto run = nlohmann::json::parse(std::ifstream(out / "run.json"));
  EXPECT_TRUE(run.contains("chi_peak_k_over_K"));
  EXPECT_TRUE(run.contains("class_half_changed_k_over_K"));
  // A rerun finds every image made and gives the same tables.
  const auto again = run_hdiff("images experiment --config " + (t.path / "exp.toml").string() + " --out " +
                               out.string(), {}, kMerged);
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_EQ(read_lines(out / "susceptibility.csv"), chi);
}

TEST(ImagePreset, TooFewTestImagesPerClassIsOneLine) {
  TempDir t;
  hdiff::testing::write_tiny_models(t.path / "models");
  hdiff::testing::write_tiny_idx(t.path / "idx", 15);  // labels 0-4 twice, 5-9 once
  const auto printed = run_hdiff("images experiment --models " + (t.path / "models").string() +
                                 " --print-preset fashion-mnist");
  std::string text = printed.out;
  replace(text, "per_class = 10", "per_class = 2");
  replace(text, "\"/usr/share/datasets/fashion-mnist\"", "\"" + (t.path / "idx").string() + "\"");
  std::ofstream(t.path / "exp.toml") << text;
  const auto r = run_hdiff("images experiment --config " + (t.path / "exp.toml").string() + " --out " +
                           (t.path / "out").string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("images.per_class = 2, but class 5 has only 1 test images"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(t.path / "out"));
}

}  // namespace
