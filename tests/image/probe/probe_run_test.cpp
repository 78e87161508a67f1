// Pairing image folders, and stats and probe on the fixture ConvNeXt with real
// image files.

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "support/helpers.h"
#include "common/random.h"
#include "image/models/classifier_input.h"
#include "image/models/convnext.h"
#include "image/io/image_io.h"
#include "image/probe/probe.h"
#include "image/probe/probe_job.h"
#include "image/probe/probe_pairs.h"

namespace hdiff::image {
namespace {

namespace fs = std::filesystem;
const std::string kModel = std::string(HDIFF_FIXTURES_DIR) + "/image/convnext/model.pt";

using hdiff::testing::error_of;

struct TempDir {
  fs::path path;
  TempDir() {
    static int n = 0;
    path = fs::temp_directory_path() / ("hdiff_probe_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

// A smooth random image, so that resizing does not wash it out.
Image random_image(uint64_t seed, int width, int height) {
  RandomStream rng(seed, RandomDomain::experiment, 0);
  Image im{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
  const double fx = 1 + 5 * rng.uniform(), fy = 1 + 5 * rng.uniform(), phase = 6 * rng.uniform();
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c)
        im.rgb[(static_cast<size_t>(y) * width + x) * 3 + c] = static_cast<uint8_t>(
            127.5 + 120 * std::sin(fx * x / width * 6.28 + fy * y / height * 6.28 + phase + c));
  return im;
}

void write_images(const fs::path& dir, const std::vector<std::string>& names, uint64_t seed) {
  fs::create_directories(dir);
  for (size_t i = 0; i < names.size(); ++i) write_png(dir / (names[i] + ".png"), random_image(seed + i, 40, 36));
}

TEST(ProbeDistances, ThreeDistancesOfWhitenedActivationsByHand) {
  // Two channels of two positions; channel 0 whitens by mean 1, variance 4 (std 2),
  // channel 1 has no variance on the reference set and is dropped (D = 2 elements).
  const ChannelStats stats{"p", {1.0, 5.0}, {4.0, 0.0}};
  const auto a = at::tensor(std::vector<double>{3, 1, 7, 7}).reshape({1, 2, 2});   // whitened (1, 0)
  const auto b = at::tensor(std::vector<double>{1, 5, 9, 0}).reshape({1, 2, 2});   // whitened (0, 2)
  const auto d = whitened_distances(a, b, stats);
  ASSERT_EQ(d.cosine.size(), 1u);
  EXPECT_NEAR(d.cosine[0], 0.0, 1e-15);
  EXPECT_NEAR(d.l2[0], std::sqrt(5.0 / 2), 1e-15);              // |(1,-2)| / sqrt 2
  EXPECT_NEAR(d.l2_normalised[0], std::sqrt(5.0 / 5.0), 1e-15);  // |(1,-2)| / sqrt(1 + 4)
  EXPECT_EQ(whitened_cosine(a, b, stats), d.cosine);
  // Equal activations: cosine 1, both distances 0; opposite ones: -1 and sqrt 2.
  const auto same = whitened_distances(a, a, stats);
  EXPECT_NEAR(same.cosine[0], 1.0, 1e-15);
  EXPECT_EQ(same.l2[0], 0.0);
  EXPECT_EQ(same.l2_normalised[0], 0.0);
  const auto minus = at::tensor(std::vector<double>{-1, 1, 0, 0}).reshape({1, 2, 2});  // whitened (-1, 0)
  const auto opposite = whitened_distances(a, minus, stats);
  EXPECT_NEAR(opposite.cosine[0], -1.0, 1e-15);
  EXPECT_NEAR(opposite.l2_normalised[0], std::sqrt(2.0), 1e-15);
}

TEST(ProbePairs, MatchesByNameAcrossKFolders) {
  TempDir t;
  write_images(t.path / "start", {"a", "b"}, 1);
  write_images(t.path / "gen" / "k10", {"a", "b"}, 5);
  write_images(t.path / "gen" / "k2", {"b", "a"}, 7);
  const auto pairs = match_image_sets(t.path / "start", t.path / "gen", std::nullopt);
  EXPECT_EQ(pairs.names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(pairs.ks, (std::vector<int64_t>{2, 10}));
  EXPECT_EQ(pairs.generated[1][1].filename(), "b.png");
  EXPECT_NE(error_of([&] { match_image_sets(t.path / "start", t.path / "gen" / "k2", std::nullopt); })
                .find("pass --k"),
            std::string::npos);
  EXPECT_EQ(match_image_sets(t.path / "start", t.path / "gen" / "k2", 3).ks, (std::vector<int64_t>{3}));
}

TEST(ProbePairs, MismatchedSetsAreErrors) {
  TempDir t;
  write_images(t.path / "start", {"a", "b"}, 1);
  write_images(t.path / "gen" / "k1", {"a"}, 5);
  EXPECT_NE(error_of([&] { match_image_sets(t.path / "start", t.path / "gen", std::nullopt); })
                .find("has no image for start image 'b'"),
            std::string::npos);
  write_images(t.path / "gen" / "k1", {"b", "c"}, 5);
  EXPECT_NE(error_of([&] { match_image_sets(t.path / "start", t.path / "gen", std::nullopt); })
                .find("has no start image 'c'"),
            std::string::npos);
}

TEST(ProbeRun, IdenticalImagesKeepClassAndSimilarityOne) {
  TempDir t;
  write_images(t.path / "start", {"a", "b", "c"}, 1);
  write_images(t.path / "gen" / "k0", {"a", "b", "c"}, 1);  // the same images
  write_images(t.path / "gen" / "k9", {"a", "b", "c"}, 11);  // other images
  run_stats_job({kModel, t.path / "start", t.path / "stats.bin", 2, 0, "cpu"});
  const auto stats = read_probe_stats(t.path / "stats.bin");
  EXPECT_EQ(stats.num_images, 3u);
  ASSERT_EQ(stats.points.size(), 9u);
  EXPECT_EQ(stats.points[0].mean.size(), 32u);

  ProbeJob job{kModel, t.path / "stats.bin", t.path / "start", t.path / "gen", t.path / "out", {}, 10, 2, "cpu"};
  const auto table = run_probe_job(job);
  ASSERT_EQ(table.ks, (std::vector<int64_t>{0, 9}));
  for (const auto& pair : table.results[0]) {
    EXPECT_EQ(pair.start_class, pair.generated_class);
    for (double s : pair.similarity) EXPECT_NEAR(s, 1.0, 1e-9);
  }
  double mean_other = 0;
  for (const auto& pair : table.results[1]) mean_other += pair.similarity[0] / 3;
  EXPECT_LT(mean_other, 0.99);
  EXPECT_TRUE(fs::exists(t.path / "out" / "pairs.csv"));
  EXPECT_TRUE(fs::exists(t.path / "out" / "summary.csv"));
}

TEST(ProbeRun, StatsMatchADirectComputation) {
  TempDir t;
  write_images(t.path / "ref", {"a", "b", "c"}, 3);
  const auto net = load_convnext(kModel);
  const auto files = image_files(t.path / "ref");
  const auto stats = measure_stats(net, files, 2);  // batches of 2 and 1 are combined
  std::vector<at::Tensor> probes, all;
  std::vector<at::Tensor> inputs;
  for (const auto& f : files) {
    const auto im = read_image(f);
    auto hwc = at::from_blob(const_cast<uint8_t*>(im.rgb.data()), {im.height, im.width, 3}, at::kByte);
    inputs.push_back(hwc.permute({2, 0, 1}).unsqueeze(0).clone());
  }
  net.forward(classifier_input(at::cat(inputs)), &probes);
  for (size_t p = 0; p < probes.size(); ++p) {
    auto x = probes[p].to(at::kDouble).transpose(0, 1).reshape({probes[p].size(1), -1});
    auto mean = x.mean(1), var = x.var(1, /*unbiased=*/false);
    for (int64_t c = 0; c < x.size(0); c += 7) {
      EXPECT_NEAR(stats.points[p].mean[c], mean[c].item<double>(), 1e-6 * (1 + std::abs(mean[c].item<double>())));
      EXPECT_NEAR(stats.points[p].var[c], var[c].item<double>(), 1e-6 * (1 + var[c].item<double>()));
    }
  }
}

TEST(ProbeRun, ErrorsLeaveNoFiles) {
  TempDir t;
  write_images(t.path / "start", {"a", "b"}, 1);
  write_images(t.path / "gen" / "k3", {"a", "b"}, 2);
  ProbeJob job{kModel, t.path / "missing.bin", t.path / "start", t.path / "gen", t.path / "out", {}, 0, 2, "cpu"};
  EXPECT_NE(error_of([&] { run_probe_job(job); }).find("make it with `hdiff images stats"), std::string::npos);
  std::ofstream(t.path / "start" / "b.png") << "not a png";
  EXPECT_NE(error_of([&] { run_stats_job({kModel, t.path / "start", t.path / "stats.bin", 2, 0, "cpu"}); })
                .find("b.png"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(t.path / "stats.bin"));
  EXPECT_FALSE(fs::exists(t.path / "out"));
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(t.path)) entries += e.path().filename().string()[0] == '.' ? 1 : 0;
  EXPECT_EQ(entries, 0u) << "staging or temporary files were left behind";
}

}  // namespace
}  // namespace hdiff::image
