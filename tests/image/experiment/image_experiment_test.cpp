// `hdiff images experiment`, `stats` and `probe` end to end on the tiny fixture
// models: every output file with its documented columns, resume, and clear
// errors that leave no files behind.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/gnuplot.h"
#include "image/io/image_io.h"
#include "support/helpers.h"

namespace fs = std::filesystem;

namespace {

const fs::path kFixtures = fs::path(HDIFF_FIXTURES_DIR) / "image";
const std::string kClassifier = (kFixtures / "convnext" / "model.pt").string();

using hdiff::testing::CommandResult;
using hdiff::testing::gnuplot_installed;
using hdiff::testing::run_hdiff;

// stdout and stderr together, as a terminal shows them: the checks look for a message in either.
const hdiff::testing::RunOptions kMerged{.merge_output = true};

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("hdiff_experiment_test_" + std::to_string(::getpid()));
  TempDir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

void write_start_images(const fs::path& dir, int count) {
  fs::create_directories(dir);
  for (int n = 0; n < count; ++n) {
    hdiff::image::Image im{40, 36, std::vector<uint8_t>(40 * 36 * 3)};
    for (int y = 0; y < 36; ++y)
      for (int x = 0; x < 40; ++x)
        for (int c = 0; c < 3; ++c)
          im.rgb[(static_cast<size_t>(y) * 40 + x) * 3 + c] =
              static_cast<uint8_t>(128 + 110 * std::sin(0.2 * (n + 1) * x + 0.3 * y + c));
    hdiff::image::write_png(dir / ("img" + std::to_string(n) + ".png"), im);
  }
}

std::string experiment_file(const std::string& ks) {
  return "[diffusion]\ncheckpoint = \"" + (kFixtures / "adm_a" / "model.pt").string() + "\"\nmodel = \"" +
         (kFixtures / "adm_a" / "config.json").string() + "\"\nsteps = 10\nbatch_size = 2\n" +
         "[classifier]\ncheckpoint = \"" + kClassifier + "\"\nbatch_size = 2\n" +
         "[images]\nstart = \"start\"\n[run]\nk = " + ks + "\nseed = 3\ndevice = \"cpu\"\n";
}

std::vector<std::string> read_lines(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream s(line);
  for (std::string field; std::getline(s, field, ',');) out.push_back(field);
  if (!line.empty() && line.back() == ',') out.push_back("");
  return out;
}

TEST(ImageExperiment, EndToEndOnTinyFixtures) {
  TempDir t;
  write_start_images(t.path / "start", 3);
  std::ofstream(t.path / "exp.toml") << experiment_file("[0, 5, 10]");
  const auto out = t.path / "out";
  const auto r =
      run_hdiff("images experiment --config " + (t.path / "exp.toml").string() + " --out " + out.string(), {}, kMerged);
  ASSERT_EQ(r.exit_code, 0) << r.out;

  for (const char* f : {"experiment.toml", "stats.bin", "pairs.csv", "summary.csv", "conditional.csv", "run.json",
                        "class_kept.dat", "similarity.dat"})
    EXPECT_TRUE(fs::is_regular_file(out / f)) << f;
  if (gnuplot_installed())
    for (const char* figure : {"class_kept", "similarity", "similarity_by_class"})
      for (const char* format : hdiff::kFigureFormats)
        EXPECT_TRUE(hdiff::figure_file_complete(out / (std::string(figure) + "." + format))) << figure << format;
  for (const char* dir : {"start", "k0", "k5", "k10"})
    for (int n = 0; n < 3; ++n) EXPECT_TRUE(fs::exists(out / dir / ("img" + std::to_string(n) + ".png"))) << dir;

  const auto pairs = read_lines(out / "pairs.csv");
  ASSERT_EQ(pairs.size(), 1u + 3 * 3 * 9);  // images x k x probe points
  EXPECT_EQ(pairs[0], "image,k,k_over_K,probe,depth,similarity,start_class,generated_class,class_kept");
  for (size_t i = 1; i < pairs.size(); ++i) {
    const auto f = split(pairs[i]);
    ASSERT_EQ(f.size(), 9u) << pairs[i];
    const double sim = std::stod(f[5]);
    EXPECT_TRUE(sim >= -1 && sim <= 1) << pairs[i];
    EXPECT_EQ(f[8], f[6] == f[7] ? "1" : "0");
  }
  EXPECT_EQ(split(pairs[1])[3], "features.0");
  EXPECT_EQ(split(pairs.back())[3], "classifier");
  EXPECT_EQ(split(pairs.back())[2], "1");  // k/K = 10/10

  const auto summary = read_lines(out / "summary.csv");
  ASSERT_EQ(summary.size(), 1u + 3 * 9);  // k x probe points
  EXPECT_EQ(summary[0], "k,k_over_K,probe,depth,n,similarity_mean,similarity_se,class_kept,class_kept_se");
  EXPECT_EQ(split(summary[10])[0], "5");
  EXPECT_EQ(split(summary[10])[1], "0.5");
  EXPECT_EQ(split(summary[10])[4], "3");
  // The start images are barely touched at k = 0: their stem activations stay close.
  EXPECT_GT(std::stod(split(summary[1])[5]), 0.9) << summary[1];
  const auto conditional = read_lines(out / "conditional.csv");
  ASSERT_EQ(conditional.size(), 1u + 3 * 9 * 2);  // k x probe points x (kept, changed)
  EXPECT_EQ(conditional[0], "k,k_over_K,probe,depth,class,n,similarity_mean,similarity_se");
  for (size_t i = 1; i < conditional.size(); i += 2) {
    const auto kept = split(conditional[i]), changed = split(conditional[i + 1]);
    EXPECT_EQ(kept[4], "kept");
    EXPECT_EQ(changed[4], "changed");
    EXPECT_EQ(std::stoi(kept[5]) + std::stoi(changed[5]), 3) << conditional[i];
  }

  // A rerun finds everything made and only redoes the probe.
  const auto again =
      run_hdiff("images experiment --config " + (t.path / "exp.toml").string() + " --out " + out.string(), {}, kMerged);
  EXPECT_EQ(again.exit_code, 0) << again.out;
  EXPECT_EQ(read_lines(out / "pairs.csv"), pairs);

  // Another experiment file may not reuse the folder.
  std::ofstream(t.path / "other.toml") << experiment_file("[0, 10]");
  const auto other = run_hdiff(
      "images experiment --config " + (t.path / "other.toml").string() + " --out " + out.string(), {}, kMerged);
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_NE(other.out.find("different experiment file"), std::string::npos) << other.out;

  // The probe command on the experiment's folders gives the same table.
  const auto probe = run_hdiff("images probe --classifier " + kClassifier + " --stats " + (out / "stats.bin").string() +
                                   " --start " + (out / "start").string() + " --generated " + out.string() +
                                   " --num-steps 10 --out " + (t.path / "probe").string(),
                               {}, kMerged);
  ASSERT_EQ(probe.exit_code, 0) << probe.out;
  EXPECT_EQ(read_lines(t.path / "probe" / "pairs.csv"), pairs);
}

TEST(ImageExperiment, ErrorsAreClearAndLeaveNoFiles) {
  TempDir t;
  write_start_images(t.path / "start", 2);
  write_start_images(t.path / "gen" / "k4", 1);

  // Missing stats.
  auto r = run_hdiff("images probe --classifier " + kClassifier + " --stats " + (t.path / "none.bin").string() +
                         " --start " + (t.path / "start").string() + " --generated " + (t.path / "gen").string() +
                         " --out " + (t.path / "p1").string(),
                     {}, kMerged);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("cannot read stats file"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(t.path / "p1"));

  // Mismatched image sets.
  ASSERT_EQ(run_hdiff("images stats --classifier " + kClassifier + " --input " + (t.path / "start").string() +
                          " --out " + (t.path / "stats.bin").string(),
                      {}, kMerged)
                .exit_code,
            0);
  r = run_hdiff("images probe --classifier " + kClassifier + " --stats " + (t.path / "stats.bin").string() +
                    " --start " + (t.path / "start").string() + " --generated " + (t.path / "gen").string() +
                    " --out " + (t.path / "p2").string(),
                {}, kMerged);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("image sets do not match"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("'img1'"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(t.path / "p2"));

  // Unreadable images, for stats and for the experiment.
  std::ofstream(t.path / "start" / "broken.png") << "this is not a PNG";
  r = run_hdiff("images stats --classifier " + kClassifier + " --input " + (t.path / "start").string() + " --out " +
                    (t.path / "stats2.bin").string(),
                {}, kMerged);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("broken.png"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(t.path / "stats2.bin"));
  std::ofstream(t.path / "exp.toml") << experiment_file("[0, 5]");
  r = run_hdiff("images experiment --config " + (t.path / "exp.toml").string() + " --out " + (t.path / "out").string(),
                {}, kMerged);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("broken.png"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(t.path / "out"));

  // Statistics of another classifier layout.
  std::ofstream(t.path / "bad.bin") << "HDIFFSTA";
  r = run_hdiff("images probe --classifier " + kClassifier + " --stats " + (t.path / "bad.bin").string() + " --start " +
                    (t.path / "start").string() + " --generated " + (t.path / "gen").string() + " --out " +
                    (t.path / "p3").string(),
                {}, kMerged);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("truncated"), std::string::npos) << r.out;
  for (const auto& e : fs::directory_iterator(t.path))
    EXPECT_NE(e.path().filename().string()[0], '.') << "left behind: " << e.path();
}

}  // namespace
