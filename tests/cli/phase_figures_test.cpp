// The figures of `hdiff phase` (docs/phase.md, Figures): every figure as PNG,
// SVG and PDF in the shared style; a figure with nothing defined says why; a
// figure that cannot be written (a full disk) fails the run before anything is
// committed, and --resume finishes it once there is room (issue 25, cases 7, 10;
// issue 26, item 8).

#include <gtest/gtest.h>

#include <sys/mount.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/cli_support.h"
#include "common/gnuplot.h"

namespace hdiff {
namespace {

namespace fs = std::filesystem;

using testing::fresh_folder;
using testing::PhaseToml;
using testing::read_text;
using testing::run_hdiff;

const char* kFigures[] = {"class_agreement", "level_agreement", "conditional_agreement", "token_susceptibility"};

void expect_every_figure_complete(const fs::path& folder) {
  for (const char* figure : kFigures)
    for (const char* format : kFigureFormats) {
      const auto path = folder / fmt::format("{}.{}", figure, format);
      EXPECT_TRUE(figure_file_complete(path)) << path;
      EXPECT_GT(fs::exists(path) ? fs::file_size(path) : 0, 1000u) << path;
    }
}

// The message lines of stderr ("hdiff: error: ...", "hdiff: note: ..."); progress lines are not counted.
std::vector<std::string> messages(const std::string& err) {
  std::vector<std::string> found;
  std::istringstream lines(err);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("hdiff: ")) found.push_back(line);
  return found;
}

TEST(PhaseFigures, EveryFigureIsPngSvgAndPdfWithGlyphsTheCriticalNoiseAndTheChanceLine) {
  ASSERT_TRUE(testing::gnuplot_installed());
  const auto folder = fresh_folder("phase-figures");
  // The papers' grammar under soft noise: mean-field ε* = 0.731 lies inside the noise range.
  PhaseToml{.v = "32", .classes = "32", .m = "8", .L = "[2, 3]", .seeds = 1, .channel = "soft",
            .values = "[0.5, 0.7, 0.9]", .samples = 40, .trajectories = 2}
      .write(folder / "soft.toml");
  const auto soft = run_hdiff("phase --config soft.toml --out soft", folder);
  ASSERT_EQ(soft.exit_code, 0) << soft.err;
  EXPECT_TRUE(messages(soft.err).empty()) << soft.err;
  expect_every_figure_complete(folder / "soft");
  const std::string script = read_text(folder / "soft/figures.gp");
  EXPECT_NE(script.find("set encoding utf8"), std::string::npos);
  EXPECT_NE(script.find("ε* = 0.731 (mean field)"), std::string::npos) << "the marker names its theory";
  EXPECT_NE(script.find("set arrow from 0.73"), std::string::npos) << "drawn as a line inside the range";
  EXPECT_NE(script.find("chance 1/classes = 0.0312"), std::string::npos);
  EXPECT_NE(script.find("noise level ε"), std::string::npos);
  EXPECT_NE(script.find("token susceptibility χ_L"), std::string::npos);
  EXPECT_EQ(script.find("epsilon"), std::string::npos) << "glyphs, not spelled-out names";
  const std::string svg = read_text(folder / "soft/class_agreement.svg");
  EXPECT_NE(svg.find("ε* = 0.731"), std::string::npos);
  // A channel without a cheap theory (uniform) gets the chance line but no marker.
  PhaseToml{.seeds = 1, .samples = 40}.write(folder / "uniform.toml");
  const auto uniform = run_hdiff("phase --config uniform.toml --out uniform", folder);
  ASSERT_EQ(uniform.exit_code, 0) << uniform.err;
  expect_every_figure_complete(folder / "uniform");
  EXPECT_EQ(read_text(folder / "uniform/figures.gp").find("ε*"), std::string::npos);
  EXPECT_NE(read_text(folder / "uniform/figures.gp").find("chance 1/classes = 0.125"), std::string::npos);
  fs::remove_all(folder);
}

// Issue 25, case 10: one noise level and one sample leave χ undefined everywhere;
// gnuplot failed on the empty plot, an empty token_susceptibility.png was
// committed and the warning quoted a harmless line.
TEST(PhaseFigures, AnUndefinedSusceptibilityIsAFigureThatSaysWhy) {
  ASSERT_TRUE(testing::gnuplot_installed());
  const auto folder = fresh_folder("phase-undefined");
  PhaseToml{.L = "3", .seeds = 1, .values = "[0.3]", .samples = 1}.write(folder / "one.toml");
  PhaseToml{.L = "3", .seeds = 1, .values = "[0.0]", .samples = 20, .trajectories = 2}.write(folder / "clean.toml");
  for (const char* name : {"one", "clean"}) {
    const auto result = run_hdiff(fmt::format("phase --config {0}.toml --out {0}", name), folder);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_TRUE(messages(result.err).empty()) << name << ": " << result.err;
    expect_every_figure_complete(folder / name);
    EXPECT_NE(read_text(folder / name / "changes.csv").find(",3,"), std::string::npos);
  }
  EXPECT_NE(read_text(folder / "one/figures.gp")
                .find("χ_L undefined: one sample with one trajectory has no covariance of token changes"),
            std::string::npos);
  EXPECT_NE(read_text(folder / "clean/figures.gp")
                .find("χ_L undefined at every noise level: no token's change varies across the trajectories of a sample"),
            std::string::npos);
  fs::remove_all(folder);
}

TEST(PhaseFigures, WithoutGnuplotTheResultsAndTheScriptAreCommittedWithANote) {
  const auto folder = fresh_folder("phase-no-gnuplot");
  PhaseToml{.seeds = 1, .samples = 40}.write(folder / "c.toml");
  const auto result = run_hdiff("phase --config c.toml --out o", folder, {.prefix = "PATH=/nonexistent "});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(messages(result.err).size(), 1u) << result.err;
  EXPECT_TRUE(messages(result.err)[0].starts_with("hdiff: note: gnuplot is not installed")) << result.err;
  EXPECT_FALSE(read_text(folder / "o/results.csv").empty());
  EXPECT_FALSE(read_text(folder / "o/figures.gp").empty());
  EXPECT_FALSE(fs::exists(folder / "o/class_agreement.png"));
  fs::remove_all(folder);
}

// Unmounts a file system when the test ends.
struct Mounted {
  fs::path where;
  ~Mounted() { umount2(where.c_str(), MNT_DETACH); }
};

// Issue 25, case 7: the disk fills while gnuplot draws. Before, gnuplot exited 0
// and 0-byte or cut figures were committed with exit 0 and nothing on stderr.
TEST(PhaseFigures, AFullDiskWhileFiguresAreDrawnCommitsNothingAndResumeFinishes) {
  ASSERT_TRUE(testing::gnuplot_installed());
  const auto folder = fresh_folder("phase-full-disk");
  const auto disk = folder / "disk";
  fs::create_directories(disk);
  if (mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=4m") != 0)
    GTEST_SKIP() << "cannot mount a small tmpfs here (" << std::strerror(errno)
                 << "; it needs root or CAP_SYS_ADMIN), so a full disk cannot be made";
  const Mounted mounted{disk};
  // gnuplot on the PATH is a wrapper that fills the disk, then runs the real gnuplot:
  // the results are staged by then, the figures are not.
  fs::path gnuplot;
  const std::string search = std::getenv("PATH") ? std::getenv("PATH") : "";
  for (size_t begin = 0; begin <= search.size() && gnuplot.empty();) {
    const size_t end = std::min(search.find(':', begin), search.size());
    const fs::path candidate = fs::path(search.substr(begin, end - begin)) / "gnuplot";
    if (end > begin && fs::exists(candidate)) gnuplot = candidate;
    begin = end + 1;
  }
  ASSERT_FALSE(gnuplot.empty());
  fs::create_directories(folder / "bin");
  std::ofstream(folder / "bin/gnuplot") << fmt::format(
      "#!/bin/sh\n/bin/dd if=/dev/zero of='{}' bs=64k > /dev/null 2>&1\nexec '{}' \"$@\"\n", (disk / "filler").string(),
      gnuplot.string());
  fs::permissions(folder / "bin/gnuplot", fs::perms::owner_all);
  PhaseToml{.L = "[2, 3]", .seeds = 1, .values = "[0.1, 0.5]", .samples = 60, .trajectories = 2}.write(folder / "c.toml");
  const auto reference = run_hdiff("phase --config c.toml --out reference", folder);
  ASSERT_EQ(reference.exit_code, 0) << reference.err;

  const std::string path = fmt::format("PATH='{}':\"$PATH\" ", (folder / "bin").string());
  const auto full = run_hdiff("phase --config c.toml --out disk/o", folder, {.prefix = path});
  EXPECT_EQ(full.exit_code, 2) << full.err;
  ASSERT_EQ(messages(full.err).size(), 1u) << full.err;
  EXPECT_TRUE(messages(full.err)[0].starts_with("hdiff: error: cannot draw the figures: ")) << full.err;
  EXPECT_NE(full.err.find("the disk is full"), std::string::npos) << full.err;
  EXPECT_NE(full.err.find("--resume"), std::string::npos) << full.err;
  EXPECT_FALSE(fs::exists(disk / "o")) << "nothing is committed";
  EXPECT_TRUE(fs::exists(disk / ".o.unfinished/journal")) << "the results are kept for --resume";

  fs::remove(disk / "filler");
  const auto resumed = run_hdiff("phase --config c.toml --out disk/o --resume", folder);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  expect_every_figure_complete(disk / "o");
  for (const char* file : {"results.csv", "conditional.csv", "changes.csv", "correlations.csv", "figures.gp"})
    EXPECT_EQ(read_text(disk / "o" / file), read_text(folder / "reference" / file)) << file;
  EXPECT_FALSE(fs::exists(disk / ".o.unfinished"));
  umount2(disk.c_str(), MNT_DETACH);
  fs::remove_all(folder);
}

}  // namespace
}  // namespace hdiff
