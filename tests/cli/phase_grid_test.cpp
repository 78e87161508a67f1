// Grids of grammars in one `hdiff phase` config: every combination of the
// lists of v, classes, m and s is run, and each one's rows are exactly those of
// a run of that grammar alone.

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>

#include "cli/cli_support.h"

namespace hdiff {
namespace {

using testing::fresh_folder;
using testing::read_text;
using testing::run_hdiff;

std::string config(const std::string& v, const std::string& m) {
  return testing::PhaseToml{.v = v, .classes = "4", .m = m, .channel = "mask", .values = "[0.2, 0.6]", .samples = 150,
                            .trajectories = 2, .seed = 7}
      .text();
}

std::string without_header(const std::string& csv) { return csv.substr(csv.find('\n') + 1); }

TEST(PhaseGrid, EveryCombinationIsRunAndEqualsItsOwnRun) {
  const auto folder = fresh_folder("phase-grid");
  std::ofstream(folder / "grid.toml") << config("[8, 16]", "[2, 3]");
  const auto grid = run_hdiff("phase --config grid.toml --out grid", folder);
  ASSERT_EQ(grid.exit_code, 0) << grid.err;
  std::map<std::string, std::string> expected;
  for (const char* v : {"8", "16"})
    for (const char* m : {"2", "3"}) {
      const std::string name = fmt::format("v{}m{}", v, m);
      std::ofstream(folder / (name + ".toml")) << config(v, m);
      const auto one = run_hdiff(fmt::format("phase --config {}.toml --out {}", name, name), folder);
      ASSERT_EQ(one.exit_code, 0) << one.err;
      for (const char* file : {"results.csv", "conditional.csv", "changes.csv", "correlations.csv"}) {
        if (expected[file].empty()) expected[file] = read_text(folder / name / file).substr(0, read_text(folder / name / file).find('\n') + 1);
        expected[file] += without_header(read_text(folder / name / file));
      }
      EXPECT_NE(grid.out.find(fmt::format("class agreement A_0 (mask channel, v={}, classes=4, m={}, s=2)", v, m)),
                std::string::npos) << grid.out;
      // The script is written with or without gnuplot; the figures need it.
      const auto figures = folder / "grid" / fmt::format("v{}_classes4_m{}_s2", v, m);
      EXPECT_EQ(read_text(figures / "figures.gp"), read_text(folder / name / "figures.gp"));
      EXPECT_FALSE(read_text(figures / "figures.gp").empty());
      if (testing::gnuplot_installed()) EXPECT_GT(std::filesystem::file_size(figures / "class_agreement.png"), 1000u);
    }
  for (const auto& [file, text] : expected) EXPECT_EQ(read_text(folder / "grid" / file), text) << file;
  // 4 grammars × 2 noise points × (3 + 4) levels.
  const std::string results = read_text(folder / "grid/results.csv");
  EXPECT_EQ(std::count(results.begin(), results.end(), '\n'), 1 + 4 * 2 * 7);
  const auto record = nlohmann::json::parse(read_text(folder / "grid/run.json"));
  EXPECT_EQ(record.at("grid").size(), 4u);
  EXPECT_EQ(record.at("grid")[3].at("config").at("grammar").at("v"), 16);
  std::filesystem::remove_all(folder);
}

TEST(PhaseGrid, InvalidCombinationsFailBeforeAnyWork) {
  const auto folder = fresh_folder("phase-grid-bad");
  std::ofstream(folder / "grid.toml") << config("[2, 8]", "[1, 3]");
  const auto result = run_hdiff("phase --config grid.toml --out grid", folder);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.err.find("hdiff: error: grid.toml: 1 of the 4 grammar combinations of the lists are invalid: "
                            "[v=2 classes=4 m=3 s=2]"), 0u) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1);
  EXPECT_EQ(testing::entries_in(folder), 1) << "nothing but the config";
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace hdiff
