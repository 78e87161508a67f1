// The work-unit engine that `hdiff phase` and `hdiff theory --threshold` share
// (src/cluster/unit_job.h), in one process: results folded in unit order before
// the outputs are written, the journal removed only after the commit, a failed
// write committing nothing and resumable, and Ctrl-C committing what is
// finished, leaving no staging folder, and exiting with 130.

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cluster/unit_job.h"
#include "common/error.h"
#include "common/progress.h"
#include "support/helpers.h"

namespace hdiff {
namespace {

namespace fs = std::filesystem;

std::string file_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Hidden names beside `out` (staging folders, the lock, the journal's folder).
std::vector<std::string> hidden_beside(const fs::path& out) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(out.parent_path()))
    if (entry.path().filename().string().front() == '.') names.push_back(entry.path().filename().string());
  return names;
}

// A job of `units` units whose result is the unit's square; it writes "squares.txt".
struct SquaresJob {
  UnitJob job;
  std::vector<int64_t> computed;  // units run here, in order
  std::vector<int64_t> folded;    // units folded in, in order
  std::string written;

  SquaresJob(const fs::path& out, int units, bool resume) {
    job.plan = {"test squares", out, "squares v1", std::vector<double>(static_cast<size_t>(units), 1.0), resume};
    job.progress.assign(static_cast<size_t>(units), 1);
    job.progress_label = "squares";
    job.run_unit = [this](int64_t unit) {
      computed.push_back(unit);
      return std::to_string(unit * unit);
    };
    job.take_result = [this](int64_t unit, const std::string& bytes) {
      folded.push_back(unit);
      written += std::to_string(unit) + ":" + bytes + "\n";
    };
    job.write = [this](OutputDir& dir, const UnitRunOutcome&) { dir.write("squares.txt", written); };
  }
};

TEST(UnitJob, WritesEveryResultThenCommitsThenRemovesTheJournal) {
  const auto folder = testing::fresh_folder("unit-job-commit");
  const fs::path out = folder / "o";
  std::optional<OutputDir> dir;
  open_unit_output(dir, out, false, false, "test squares");
  SquaresJob squares(out, 4, false);
  bool reported = false;
  squares.job.report = [&](const OutputDir& committed, const UnitRunOutcome& outcome) {
    // The report comes after the commit: the file is in place.
    EXPECT_EQ(file_text(committed.dir() / "squares.txt"), "0:0\n1:1\n2:4\n3:9\n");
    EXPECT_FALSE(outcome.interrupted);
    reported = true;
  };
  const UnitRunOutcome outcome = run_unit_job(squares.job, dir);
  EXPECT_TRUE(reported);
  EXPECT_EQ(outcome.units_computed_here, 4);
  EXPECT_EQ(squares.folded, (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_FALSE(fs::exists(staging_folder(out)));
  dir.reset();
  for (const auto& name : hidden_beside(out)) EXPECT_EQ(name.find(".o.staging"), std::string::npos) << name;
  fs::remove_all(folder);
}

TEST(UnitJob, OutputIsCheckedBeforeAnyWork) {
  const auto folder = testing::fresh_folder("unit-job-refuse");
  const fs::path out = folder / "o";
  fs::create_directories(out);
  std::ofstream(out / "earlier.csv") << "another run's\n";
  std::optional<OutputDir> dir;
  EXPECT_NE(testing::error_of([&] { open_unit_output(dir, out, false, false, "test squares"); })
                .find("holds the results of another run"),
            std::string::npos);
  // --resume into a finished run's folder says there is nothing to resume.
  EXPECT_NE(testing::error_of([&] { open_unit_output(dir, out, true, false, "test squares"); })
                .find("nothing to resume"),
            std::string::npos);
  EXPECT_FALSE(dir.has_value());
  fs::remove_all(folder);
}

TEST(UnitJob, AFailedWriteCommitsNothingAndResumeFinishesFromTheJournal) {
  const auto folder = testing::fresh_folder("unit-job-failed-write");
  const fs::path out = folder / "o";
  {
    std::optional<OutputDir> dir;
    open_unit_output(dir, out, false, false, "test squares");
    SquaresJob squares(out, 3, false);
    squares.job.write = [](OutputDir& staged, const UnitRunOutcome&) {
      staged.write("half.txt", "half");
      fail_file("cannot write {}: No space left on device", "squares.txt");
    };
    EXPECT_THROW(run_unit_job(squares.job, dir), FileError);
  }
  EXPECT_FALSE(fs::exists(out));                             // nothing committed
  ASSERT_TRUE(fs::exists(staging_folder(out) / "journal"));  // every unit kept
  std::optional<OutputDir> dir;
  open_unit_output(dir, out, true, false, "test squares");
  SquaresJob resumed(out, 3, true);
  const UnitRunOutcome outcome = run_unit_job(resumed.job, dir);
  EXPECT_EQ(outcome.units_from_journal, 3);
  EXPECT_TRUE(resumed.computed.empty());
  EXPECT_EQ(file_text(out / "squares.txt"), "0:0\n1:1\n2:4\n");
  EXPECT_FALSE(fs::exists(out / "half.txt"));
  EXPECT_FALSE(fs::exists(staging_folder(out)));
  fs::remove_all(folder);
}

// Ctrl-C during unit 1 of 4: unit 0 is finished and committed (unit 1, cut
// short, is not recorded), the journal is kept for --resume, no staging folder stays, and the exit code is 130.
void interrupted_run(const fs::path& out) {
  std::optional<OutputDir> dir;
  open_unit_output(dir, out, false, false, "test squares");
  SquaresJob squares(out, 4, false);
  squares.job.commit_finished_on_ctrl_c = true;
  const auto square = squares.job.run_unit;
  squares.job.run_unit = [&](int64_t unit) {
    if (unit == 1) std::raise(SIGINT);
    return square(unit);
  };
  squares.job.write = [&](OutputDir& staged, const UnitRunOutcome& outcome) {
    staged.write("squares.txt", squares.written + (outcome.interrupted ? "interrupted\n" : ""));
  };
  run_unit_job(squares.job, dir);
  std::exit(0);  // not reached when the engine exits with 130
}

TEST(UnitJob, CtrlCCommitsWhatIsFinishedAndExits130WithoutDebris) {
  // The "fast" death-test style: the child forks here, so it writes into this test's folder.
  const auto folder = testing::fresh_folder("unit-job-ctrl-c");
  const fs::path out = folder / "o";
  EXPECT_EXIT(interrupted_run(out), ::testing::ExitedWithCode(130), "");
  EXPECT_EQ(file_text(out / "squares.txt"), "0:0\ninterrupted\n");
  EXPECT_TRUE(fs::exists(staging_folder(out) / "journal"));
  // Neither the lock nor a staging folder outlives the run: only the journal's folder is beside the output.
  EXPECT_EQ(hidden_beside(out), std::vector<std::string>{".o.unfinished"});
  fs::remove_all(folder);
}

}  // namespace
}  // namespace hdiff
