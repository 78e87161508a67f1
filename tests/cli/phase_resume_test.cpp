// Resumable `hdiff phase` runs: killed at random points (SIGKILL) and resumed,
// the outputs are byte-identical to an uninterrupted run; an unfinished run
// needs --resume; damaged and foreign journals are refused before any work.

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "cli/cli_support.h"
#include "cluster/journal.h"
#include "cluster/unit_runner.h"
#include "experiment/phase_report.h"
#include "experiment/phase_units.h"

namespace hdiff {
namespace {

using testing::fresh_folder;
using testing::read_text;
using testing::run_hdiff;

// 4 depths × 3 noise points × 3 seeds = 36 units of a few milliseconds to a few tens.
const testing::PhaseToml kConfig{.L = "[2, 4, 6, 7]", .seeds = 3, .values = "[0.1, 0.3, 0.6]", .samples = 3000, .seed = 5};

const char* kOutputs[] = {"results.csv", "conditional.csv", "changes.csv", "correlations.csv", "figures.gp"};

void expect_same_outputs(const std::filesystem::path& a, const std::filesystem::path& b) {
  for (const char* file : kOutputs) {
    EXPECT_EQ(read_text(a / file), read_text(b / file)) << file;
    EXPECT_FALSE(read_text(a / file).empty()) << file;
  }
}

// Starts `hdiff phase --config c.toml --out OUT [--resume]` in `folder` and kills it with SIGKILL after `delay`.
// Returns true when the run finished before the kill.
bool run_and_kill(const std::filesystem::path& folder, const std::string& out, bool resume, std::chrono::milliseconds delay) {
  const pid_t child = fork();
  if (child == 0) {
    if (chdir(folder.c_str()) != 0) _exit(127);
    if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(127);
    if (resume)
      execl(HDIFF_BINARY, HDIFF_BINARY, "phase", "--config", "c.toml", "--out", out.c_str(), "--threads", "1", "--resume",
            static_cast<char*>(nullptr));
    else
      execl(HDIFF_BINARY, HDIFF_BINARY, "phase", "--config", "c.toml", "--out", out.c_str(), "--threads", "1",
            static_cast<char*>(nullptr));
    _exit(127);
  }
  std::this_thread::sleep_for(delay);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Whether the run into `out` is over: its output committed and its journal removed.
bool finished(const std::filesystem::path& folder, const std::string& out) {
  return std::filesystem::exists(folder / out) && !std::filesystem::exists(staging_folder(folder / out));
}

TEST(PhaseResume, KilledAtRandomPointsAndResumedGivesIdenticalOutputs) {
  const auto folder = fresh_folder("phase-resume");
  kConfig.write(folder / "c.toml");
  const auto start = std::chrono::steady_clock::now();
  const auto reference = run_hdiff("phase --config c.toml --out reference --threads 1", folder);
  ASSERT_EQ(reference.exit_code, 0) << reference.err;
  const auto duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  // The kill points are random (a fresh seed each run, printed on failure;
  // HDIFF_TEST_SEED=N replays one), so that over many runs every point of the
  // run gets hit: before the journal exists, inside a unit, inside a journal
  // append, after the last unit.
  const char* replay = std::getenv("HDIFF_TEST_SEED");
  const unsigned seed = replay != nullptr ? static_cast<unsigned>(std::stoul(replay)) : std::random_device{}();
  SCOPED_TRACE(fmt::format("random seed {} (reference run {} ms)", seed, duration.count()));
  std::mt19937 random(seed);
  auto random_delay = [&](int64_t longest) {
    return std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(longest, 1))(random));
  };
  for (int trial = 0; trial < 3; ++trial) {
    const std::string out = fmt::format("killed{}", trial);
    // The first kill must land, or the trial tests no resume: a run that
    // finished first is removed and started again, to be killed sooner.
    int tries = 0;
    for (;; ++tries) {
      ASSERT_LT(tries, 8) << "trial " << trial << ": every run finished before its kill";
      const auto delay = random_delay(duration.count() >> tries);
      SCOPED_TRACE(fmt::format("trial {} try {}: killed after {} ms", trial, tries, delay.count()));
      // (Killed after its last step, a run is finished too: its output there, its journal gone.)
      if (!run_and_kill(folder, out, false, delay) && !finished(folder, out)) break;
      std::filesystem::remove_all(folder / out);
    }
    // Then perhaps a second kill, of the resumed run.
    const auto delay = random_delay(duration.count());
    SCOPED_TRACE(fmt::format("trial {}: resumed run killed after {} ms", trial, delay.count()));
    run_and_kill(folder, out, true, delay);
    if (finished(folder, out)) {
      // A finished run is not run again: there is nothing to resume.
      expect_same_outputs(folder / "reference", folder / out);
      const auto again = run_hdiff(fmt::format("phase --config c.toml --out {} --resume", out), folder);
      EXPECT_EQ(again.exit_code, 2);
      EXPECT_NE(again.err.find("nothing to resume"), std::string::npos) << again.err;
      continue;
    }
    const auto resumed = run_hdiff(fmt::format("phase --config c.toml --out {} --threads 2 --resume", out), folder);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    expect_same_outputs(folder / "reference", folder / out);
    EXPECT_FALSE(std::filesystem::exists(folder / ("." + out + ".unfinished"))) << "the staging folder goes at the end";
  }
  std::filesystem::remove_all(folder);
}

// A journal of units 0 and 2 written as the command would, for `config_text`.
void forge_journal(const std::filesystem::path& folder, const std::string& out, const std::string& config_text) {
  const std::vector<PhaseConfig> grid = parse_phase_grid(config_text, "c.toml");
  const auto units = phase_units(grid);
  const auto staging = staging_folder(folder / out);
  std::filesystem::create_directories(staging);
  auto journal = JournalWriter::create(staging / "journal", phase_run_identity(grid));
  for (int64_t unit : {0, 2}) {
    journal.append(unit, run_phase_unit_result(grid[0], units[static_cast<size_t>(unit)]));
  }
}

TEST(PhaseResume, UnfinishedRunsNeedResumeAndBadJournalsAreRefusedBeforeAnyWork) {
  const auto folder = fresh_folder("phase-journal");
  testing::PhaseToml small = kConfig;
  small.samples = 200;
  small.write(folder / "c.toml");
  const std::string config = small.text();
  ASSERT_EQ(run_hdiff("phase --config c.toml --out reference", folder).exit_code, 0);

  forge_journal(folder, "out", config);
  auto result = run_hdiff("phase --config c.toml --out out", folder);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.err, "hdiff: error: out has an unfinished run (2 of 36 units done) in .out.unfinished; add --resume "
                        "to continue it, or delete .out.unfinished to start over\n");
  EXPECT_FALSE(std::filesystem::exists(folder / "out"));
  result = run_hdiff("phase --config c.toml --out out --resume", folder);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  expect_same_outputs(folder / "reference", folder / "out");
  EXPECT_FALSE(std::filesystem::exists(folder / ".out.unfinished"));

  // Another seed: the journal belongs to another run.
  testing::PhaseToml other = small;
  other.seed = 6;
  forge_journal(folder, "foreign", other.text());
  result = run_hdiff("phase --config c.toml --out foreign --resume", folder);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("hdiff: error: the journal .foreign.unfinished/journal belongs to another run"),
            std::string::npos) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << "one line";
  EXPECT_FALSE(std::filesystem::exists(folder / "foreign"));

  // A flipped byte inside the first record.
  forge_journal(folder, "damaged", config);
  const auto journal = folder / ".damaged.unfinished/journal";
  std::string bytes = read_text(journal);
  const size_t at = journal_header(phase_run_identity(parse_phase_grid(config, "c.toml"))).size() + 40;
  bytes[at] = static_cast<char>(bytes[at] ^ 1);
  std::ofstream(journal, std::ios::binary | std::ios::trunc) << bytes;
  result = run_hdiff("phase --config c.toml --out damaged --resume", folder);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("hdiff: error: the journal .damaged.unfinished/journal is damaged at byte"), std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("delete .damaged.unfinished to start over"), std::string::npos) << result.err;
  EXPECT_FALSE(std::filesystem::exists(folder / "damaged"));
  std::filesystem::remove_all(folder);
}

// The command (units, transport, journal) gives the rows of the in-process
// experiment, which is what it ran before units existed (and what Python runs).
TEST(PhaseResume, TheCommandGivesTheRowsOfTheInProcessExperiment) {
  const auto folder = fresh_folder("phase-in-process");
  for (int seeds : {1, 3}) {
    testing::PhaseToml toml = kConfig;
    toml.seeds = seeds;
    toml.samples = 150;
    toml.trajectories = 2;
    toml.write(folder / "c.toml");
    const std::string config = toml.text();
    const auto result = run_hdiff("phase --config c.toml --out out --force", folder);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const PhaseConfig parsed = parse_phase_config(config, "c.toml");
    const PhaseResults in_process = run_phase(parsed);
    EXPECT_EQ(read_text(folder / "out/results.csv"), phase_csv(parsed, in_process)) << seeds;
    EXPECT_EQ(read_text(folder / "out/conditional.csv"), conditional_csv(parsed, in_process)) << seeds;
    EXPECT_EQ(read_text(folder / "out/changes.csv"), changes_csv(parsed, in_process)) << seeds;
    EXPECT_EQ(read_text(folder / "out/correlations.csv"), correlations_csv(parsed, in_process)) << seeds;
  }
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace hdiff
