// Output tests of `hdiff phase --preset/--list-presets/--print-preset`, of the
// default config the contract names, of the crossing and progress lines, and of
// the OpenMP wait policy the executable sets (issue 26).

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "cli/cli_support.h"

namespace hdiff {
namespace {

using testing::fresh_folder;
using testing::PhaseToml;
using testing::run_hdiff;

TEST(PhasePresetsCommand, ListPrintsOneNameFirstPerLine) {
  const auto folder = fresh_folder("presets-list");
  const auto result = run_hdiff("phase --list-presets", folder);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::istringstream lines(result.out);
  std::vector<std::string> names;
  for (std::string line; std::getline(lines, line);) names.push_back(line.substr(0, line.find(' ')));
  EXPECT_EQ(names, (std::vector<std::string>{"pnas2025-rhm-soft", "iclr2025-rhm-mask", "uniform", "gaussian"}));
}

TEST(PhasePresetsCommand, DefaultConfigIsTheEpsilonProcessWithTrajectories) {
  const auto folder = fresh_folder("presets-default");
  const auto result = run_hdiff("phase --print-default-config", folder);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("channel = \"soft\""), std::string::npos) << result.out;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(result.out, match, std::regex("\ntrajectories = (\\d+)\n"))) << result.out;
  EXPECT_GE(std::stoi(match[1]), 2);
  EXPECT_EQ(run_hdiff("phase --print-preset pnas2025-rhm-soft", folder).out, result.out);
}

TEST(PhasePresetsCommand, PresetRunsAndReportsTheCrossingBesideTheTheory) {
  const auto folder = fresh_folder("presets-run");
  const auto printed = run_hdiff("phase --print-preset uniform", folder);
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  EXPECT_NE(printed.out.find("channel = \"uniform\""), std::string::npos) << printed.out;
  const auto result = run_hdiff("phase --preset uniform --threads 2 --out run", folder);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(std::filesystem::exists(folder / "run/results.csv"));
  // Where the class curves cross, the chi peaks, and density evolution beside them
  // (the uniform channel's transition: 0.156).
  EXPECT_TRUE(std::regex_search(result.out, std::regex("the class curves of adjacent L cross at noise = 0\\.1[0-9]{3} \\(L=3/4\\)")))
      << result.out;
  EXPECT_NE(result.out.find("token susceptibility peaks"), std::string::npos) << result.out;
  EXPECT_TRUE(std::regex_search(result.out, std::regex("theory: density evolution, epsilon\\* = 0\\.1[0-9]{3}")))
      << result.out;
  EXPECT_EQ(result.out.find("mean field"), std::string::npos) << "the closed map is the soft channel's only";
}

TEST(PhasePresetsCommand, UnknownPresetOrPresetWithConfigIsOneError) {
  const auto folder = fresh_folder("presets-errors");
  PhaseToml{}.write(folder / "c.toml");
  for (const std::string arguments : {"phase --preset nope --out o", "phase --print-preset nope",
                                      "phase --preset uniform --config c.toml --out o"}) {
    const auto result = run_hdiff(arguments, folder);
    EXPECT_EQ(result.exit_code, 2) << arguments;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    EXPECT_EQ(result.err.rfind("hdiff: error: ", 0), 0u) << result.err;
    EXPECT_FALSE(std::filesystem::exists(folder / "o")) << arguments;
  }
  EXPECT_NE(run_hdiff("phase --preset nope --out o", folder).err.find("pnas2025-rhm-soft"), std::string::npos);
}

TEST(PhasePresetsCommand, ProgressLinesInALogFile) {
  // stderr is a file here, as in a Slurm log; HDIFF_PROGRESS_SECONDS=0 asks for a line at every unit.
  const auto folder = fresh_folder("presets-progress");
  PhaseToml{}.write(folder / "c.toml");
  const auto result = run_hdiff("phase --config c.toml --out o", folder, {.prefix = "HDIFF_PROGRESS_SECONDS=0 "});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(std::regex_search(result.err, std::regex("hdiff phase: [0-9]+% \\([0-9]+/[0-9]+\\), [0-9]+ s elapsed, ~[0-9]+ s left\n")))
      << result.err;
  EXPECT_NE(result.err.find("hdiff phase: 100% ("), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find('\r'), std::string::npos);
  // The same short run with the standard interval prints nothing: it ends within 2 s.
  const auto quiet = run_hdiff("phase --config c.toml --out q", folder);
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err, "");
}

TEST(PhasePresetsCommand, OpenMpThreadsWaitPassivelyUnlessTheUserChose) {
  // The OpenMP runtime prints its settings with OMP_DISPLAY_ENV=verbose: GCC's
  // libgomp at start-up (once per start: hdiff starts itself again with the
  // policy set), as "GOMP_SPINCOUNT = '0'" when waiting is passive; clang's
  // libomp (the sanitizer build) at the first parallel region, as
  // "OMP_WAIT_POLICY='PASSIVE'". Spinning waits make two threads slower than
  // one when another process holds a core.
  const auto folder = fresh_folder("presets-wait");
  testing::PhaseToml{.L = "[2]", .values = "[0.3]", .samples = 50}.write(folder / "c.toml");
  const auto run = [&](const std::string& environment, const std::string& out) {
    const auto r = run_hdiff("phase --config c.toml --threads 2 --out " + out, folder,
                             {.prefix = "OMP_DISPLAY_ENV=verbose " + environment});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.err;
  };
  const auto says = [](const std::string& err, const char* gomp, const char* llvm) {
    return err.find(gomp) != std::string::npos || err.find(llvm) != std::string::npos;
  };
  const std::string standard = run("", "standard");
  EXPECT_TRUE(says(standard, "GOMP_SPINCOUNT = '0'", "OMP_WAIT_POLICY='PASSIVE'")) << standard;
  const std::string chosen = run("OMP_WAIT_POLICY=active ", "chosen");
  EXPECT_TRUE(says(chosen, "OMP_WAIT_POLICY = 'ACTIVE'", "OMP_WAIT_POLICY='ACTIVE'")) << chosen;
  EXPECT_FALSE(says(chosen, "GOMP_SPINCOUNT = '0'", "OMP_WAIT_POLICY='PASSIVE'")) << chosen;
  // The version line is printed once, however often the program starts.
  const auto version = run_hdiff("--version", folder);
  EXPECT_EQ(version.out.find("hdiff "), 0u) << version.out;
  EXPECT_EQ(std::count(version.out.begin(), version.out.end(), '\n'), 1) << version.out;
}

}  // namespace
}  // namespace hdiff
