// A one-point grid writes the layout of a larger one: run.json of `hdiff phase`
// always lists its grammars in `grid` (each with the folder of its figures), and
// threshold.json of `hdiff theory --threshold` always lists its models in
// `thresholds`, so one reader serves every run. A single grammar or model keeps
// its fields at the top as well, as before grids existed (docs/phase.md, docs/theory.md).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/cli_support.h"

namespace hdiff {
namespace {

namespace fs = std::filesystem;
using testing::read_text;
using testing::run_hdiff;

std::string phase_config(const std::string& v) {
  return testing::PhaseToml{.v = v, .classes = "4", .m = "2", .channel = "mask", .values = "[0.2, 0.6]",
                            .samples = 100, .trajectories = 1, .seed = 5}
      .text();
}

TEST(PhaseLayout, OneGrammarListsItselfInGridLikeALargerGrid) {
  const auto folder = testing::fresh_folder("phase-layout");
  std::ofstream(folder / "one.toml") << phase_config("8");
  std::ofstream(folder / "two.toml") << phase_config("[8, 16]");
  for (const char* name : {"one", "two"}) {
    const auto run = run_hdiff(fmt::format("phase --config {0}.toml --out {0}", name), folder);
    ASSERT_EQ(run.exit_code, 0) << run.err;
  }
  const auto one = nlohmann::json::parse(read_text(folder / "one/run.json"));
  const auto two = nlohmann::json::parse(read_text(folder / "two/run.json"));
  ASSERT_EQ(one.at("grid").size(), 1u);
  ASSERT_EQ(two.at("grid").size(), 2u);
  // Every grid point names where its figures are, and has the same keys in both runs.
  for (const auto* record : {&one, &two}) {
    const fs::path out = folder / (record == &one ? "one" : "two");
    for (const auto& point : record->at("grid")) {
      EXPECT_TRUE(fs::exists(out / point.at("folder").get<std::string>() / "figures.gp")) << point.at("folder");
      EXPECT_EQ(point.at("rows"), 2 * (3 + 4));  // 2 noise points × (3 + 4) levels
    }
    for (const char* key : {"ranks", "units_resumed", "bytes_communicated", "interrupted", "threads"})
      EXPECT_TRUE(record->contains(key)) << key;
  }
  EXPECT_EQ(one.at("grid")[0].at("folder"), ".");
  EXPECT_EQ(one.at("grid")[0].at("config"), two.at("grid")[0].at("config"));
  EXPECT_EQ(two.at("grid")[1].at("folder"), "v16_classes4_m2_s2");
  // The one-grammar fields stay at the top, equal to its grid entry.
  EXPECT_EQ(one.at("config"), one.at("grid")[0].at("config"));
  EXPECT_EQ(one.at("rows"), one.at("grid")[0].at("rows"));
  EXPECT_FALSE(two.contains("config"));
  fs::remove_all(folder);
}

TEST(ThresholdLayout, OneModelListsItselfInThresholdsLikeAGrid) {
  const auto folder = testing::fresh_folder("threshold-layout");
  const std::string common = "theory --threshold --classes 6 --m 2 --population 1000 --replicas 4 --levels 8 "
                             "--tolerance 0.05";
  ASSERT_EQ(run_hdiff(common + " --v 6 --out one", folder).exit_code, 0);
  ASSERT_EQ(run_hdiff(common + " --v 6,8 --out two", folder).exit_code, 0);
  auto one = nlohmann::json::parse(read_text(folder / "one/threshold.json"));
  const auto two = nlohmann::json::parse(read_text(folder / "two/threshold.json"));
  ASSERT_EQ(one.at("thresholds").size(), 1u);
  ASSERT_EQ(two.at("thresholds").size(), 2u);
  // The same search gives the same entry, whether alone or in a grid (but for its wall time and commit).
  auto alone = one.at("thresholds")[0], in_grid = two.at("thresholds")[0];
  for (auto* entry : {&alone, &in_grid}) entry->erase("wall_seconds");
  EXPECT_EQ(alone, in_grid);
  // The one-model fields stay at the top, equal to its entry.
  const auto entry = one.at("thresholds")[0];
  one.erase("thresholds");
  EXPECT_EQ(one, entry);
  EXPECT_FALSE(two.contains("critical_noise"));
  EXPECT_TRUE(two.contains("wall_seconds"));
  fs::remove_all(folder);
}

}  // namespace
}  // namespace hdiff
