// Running gnuplot: no shell between hdiff and gnuplot, so a folder's name is
// never read as a command; a missing gnuplot is a note, not an error.

#include "common/gnuplot.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/helpers.h"

namespace hdiff {
namespace {

namespace fs = std::filesystem;

using testing::fresh_folder;

// Sets PATH for one scope.
struct ScopedPath {
  explicit ScopedPath(const std::string& value) : saved(std::getenv("PATH") ? std::getenv("PATH") : "") {
    setenv("PATH", value.c_str(), 1);
  }
  ~ScopedPath() { setenv("PATH", saved.c_str(), 1); }
  std::string saved;
};

TEST(Gnuplot, AFolderNameIsNeverRunAsACommand) {
  // Where gnuplot is missing, no command would run either way: the test would prove nothing.
  ASSERT_TRUE(testing::gnuplot_installed());
  const auto base = fresh_folder("gnuplot_quotes");
  // Every character a shell would act on, in one folder name.
  const fs::path folder = base / "q';touch INJECTED;echo '\" $(touch INJECTED) `touch INJECTED` & | > <";
  fs::create_directories(folder);
  const bool drawn = run_gnuplot("set print 'printed.txt'\nprint 42\n", folder);
  EXPECT_FALSE(fs::exists(base / "INJECTED"));
  EXPECT_FALSE(fs::exists(folder / "INJECTED"));
  EXPECT_FALSE(fs::exists(fs::current_path() / "INJECTED"));
  EXPECT_TRUE(drawn);
  EXPECT_TRUE(fs::exists(folder / "printed.txt"));
  // The temporary script and log are gone either way.
  EXPECT_FALSE(fs::exists(folder / ".plot.gp"));
  EXPECT_FALSE(fs::exists(folder / ".plot.log"));
}

TEST(Gnuplot, AMissingGnuplotSkipsTheFigureAndKeepsANamedScript) {
  const auto folder = fresh_folder("gnuplot_missing");
  const ScopedPath path((folder / "no-such-dir").string());
  ::testing::internal::CaptureStderr();
  EXPECT_FALSE(run_gnuplot("print 1\n", folder, "figures.gp"));
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("gnuplot is not installed"), std::string::npos) << said;
  EXPECT_NE(said.find("gnuplot figures.gp"), std::string::npos) << said;
  EXPECT_TRUE(fs::exists(folder / "figures.gp"));
  EXPECT_FALSE(fs::exists(folder / ".plot.log"));
}

TEST(Gnuplot, AFailingScriptIsAWarningAndKeepsOnlyANamedScript) {
  ASSERT_TRUE(testing::gnuplot_installed());
  const auto folder = fresh_folder("gnuplot_fails");
  for (const std::string keep_as : {"", "figures.gp"}) {
    ::testing::internal::CaptureStderr();
    EXPECT_FALSE(run_gnuplot("this is not gnuplot\n", folder, keep_as));
    const std::string said = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(said.find("gnuplot failed ("), std::string::npos) << said;
    EXPECT_EQ(said.find("failed ()"), std::string::npos) << "a reason is always given: " << said;
    EXPECT_FALSE(fs::exists(folder / ".plot.gp"));
    EXPECT_FALSE(fs::exists(folder / ".plot.log"));
  }
  EXPECT_TRUE(fs::exists(folder / "figures.gp"));
  // No folder at all: a warning, and nothing started.
  ::testing::internal::CaptureStderr();
  EXPECT_FALSE(run_gnuplot("print 1\n", folder / "missing"));
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("no folder"), std::string::npos);
}

}  // namespace
}  // namespace hdiff
