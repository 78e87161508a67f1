// Progress: plain lines when stderr is not a terminal (a Slurm log shows
// progress), none for a quick job, the bar on a terminal.

#include "common/progress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace hdiff {
namespace {

// Everything written to `file` so far.
std::string contents(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string text;
  for (int c; (c = std::fgetc(file)) != EOF;) text += static_cast<char>(c);
  return text;
}

// Sets HDIFF_PROGRESS_SECONDS for one test (unset: nullptr).
struct ProgressSeconds {
  explicit ProgressSeconds(const char* value) {
    if (value) setenv("HDIFF_PROGRESS_SECONDS", value, 1);
    else unsetenv("HDIFF_PROGRESS_SECONDS");
  }
  ~ProgressSeconds() { unsetenv("HDIFF_PROGRESS_SECONDS"); }
};

TEST(Progress, PlainLinesInALogFile) {
  ProgressSeconds every_step("0");
  std::FILE* log = std::tmpfile();
  {
    ProgressBar progress(4, "hdiff phase", log, /*terminal=*/false);
    for (int i = 0; i < 4; ++i) progress.advance(1);
  }
  const std::string text = contents(log);
  std::fclose(log);
  EXPECT_EQ(text.find('\r'), std::string::npos) << "no terminal control in a log";
  EXPECT_NE(text.find("hdiff phase: 25% (1/4), 0 s elapsed, ~0 s left\n"), std::string::npos) << text;
  EXPECT_NE(text.find("hdiff phase: 50% (2/4)"), std::string::npos) << text;
  EXPECT_NE(text.find("hdiff phase: 100% (4/4), done in 0 s\n"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4) << text;
}

TEST(Progress, AQuickJobPrintsNothingToALog) {
  ProgressSeconds standard(nullptr);
  std::FILE* log = std::tmpfile();
  {
    ProgressBar progress(1000, "hdiff phase", log, /*terminal=*/false);
    for (int i = 0; i < 1000; ++i) progress.advance(1);
  }
  EXPECT_EQ(contents(log), "");
  std::fclose(log);
}

TEST(Progress, AStoppedJobEndsWithWhereItStopped) {
  ProgressSeconds every_step("0");
  std::FILE* log = std::tmpfile();
  {
    ProgressBar progress(10, "hdiff theory", log, /*terminal=*/false);
    progress.advance(3);
  }
  const std::string text = contents(log);
  std::fclose(log);
  EXPECT_EQ(text, "hdiff theory: 30% (3/10), 0 s elapsed, ~0 s left\n");
}

TEST(Progress, MalformedIntervalIsIgnored) {
  ProgressSeconds malformed("soon");
  std::FILE* log = std::tmpfile();
  {
    ProgressBar progress(10, "x", log, /*terminal=*/false);
    progress.advance(10);
  }
  EXPECT_EQ(contents(log), "") << "the default: nothing within 2 s";
  std::fclose(log);
}

TEST(Progress, BarOnATerminal) {
  ProgressSeconds every_step("0");
  std::FILE* tty = std::tmpfile();
  {
    ProgressBar progress(2, "hdiff phase", tty, /*terminal=*/true);
    progress.advance(2);
  }
  const std::string text = contents(tty);
  std::fclose(tty);
  EXPECT_NE(text.find("\rhdiff phase [###"), std::string::npos) << text;
  EXPECT_EQ(text.find('\n'), std::string::npos) << "the bar is redrawn in place and cleared";
}

}  // namespace
}  // namespace hdiff
