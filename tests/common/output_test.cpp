// The output primitives: hidden names that always fit, the run lock, stale
// leftovers, and atomic writes that replace only regular files.

#include "common/output.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "common/output_names.h"
#include "common/run_lock.h"
#include "support/helpers.h"

namespace hdiff {
namespace {

namespace fs = std::filesystem;
using testing::error_of;
using testing::fresh_folder;

TEST(HiddenSibling, IsDotNameDotTagAndAlwaysFitsANameOfTheLongestLegalLength) {
  EXPECT_EQ(hidden_sibling("runs/out", "unfinished"), fs::path("runs/.out.unfinished"));
  EXPECT_EQ(hidden_sibling("runs/out/", "lock"), fs::path("runs/.out.lock"));
  EXPECT_EQ(hidden_sibling("out", "lock"), fs::path(".out.lock"));
  const std::string a(255, 'a'), b = std::string(254, 'a') + "b";
  const fs::path long_a = hidden_sibling(a, "unfinished"), long_b = hidden_sibling(b, "unfinished");
  EXPECT_LE(long_a.filename().string().size(), 255u);
  EXPECT_LE(unique_hidden_sibling(a, "staging").filename().string().size(), 255u);
  EXPECT_EQ(long_a, hidden_sibling(a, "unfinished"));  // the same from run to run
  EXPECT_NE(long_a, long_b);                           // and different for different outputs
}

TEST(RunLock, ASecondLockIsRefusedEvenInTheSameProcessAndTheFileGoesWithTheLock) {
  const auto folder = fresh_folder("run-lock");
  {
    const RunLock first(folder / "out", "hdiff phase");
    EXPECT_TRUE(fs::is_regular_file(folder / ".out.lock"));
    const std::string message = error_of([&] { RunLock second(folder / "out", "hdiff sample"); });
    EXPECT_NE(message.find("is in use by another run (pid " + std::to_string(getpid())), std::string::npos) << message;
    EXPECT_NE(message.find("hdiff phase"), std::string::npos) << message;
    const RunLock other(folder / "other", "hdiff phase");  // another output: no conflict
  }
  EXPECT_FALSE(fs::exists(folder / ".out.lock"));
  EXPECT_FALSE(fs::exists(folder / ".other.lock"));
  const RunLock again(folder / "out", "hdiff phase");
  EXPECT_TRUE(again.held());
}

TEST(RunLock, AStaleLockFileOfADeadRunIsTakenOver) {
  const auto folder = fresh_folder("run-lock-stale");
  std::ofstream(folder / ".out.lock") << "pid 1 on elsewhere, hdiff phase, since long ago\n";
  const RunLock lock(folder / "out", "hdiff phase");
  EXPECT_TRUE(lock.held());
}

TEST(StaleSiblings, OnlyTheStagingAndTemporaryNamesOfThisOutputGo) {
  const auto folder = fresh_folder("stale");
  for (const char* name : {".out.staging-12-0", ".out.tmp-3-4", ".out.staging-x-0", ".out.unfinished", ".out.lock",
                           ".out2.staging-12-0", ".out.staging-5.staging-7-0", "out"})
    fs::create_directories(folder / name);
  EXPECT_EQ(remove_stale_siblings(folder / "out"), 2);
  for (const char* kept : {".out.staging-x-0", ".out.unfinished", ".out.lock", ".out2.staging-12-0",
                           ".out.staging-5.staging-7-0", "out"})
    EXPECT_TRUE(fs::exists(folder / kept)) << kept;
}

TEST(WriteFileAtomic, ReplacesRegularFilesOnlyAndRefusesExistingOnesWhenAsked) {
  const auto folder = fresh_folder("atomic");
  write_file_atomic(folder / "a", "one");
  write_file_atomic(folder / "a", "two");
  EXPECT_NE(error_of([&] { write_file_atomic(folder / "a", "three", Existing::refuse); }).find("already exists"),
            std::string::npos);
  ASSERT_EQ(mkfifo((folder / "fifo").c_str(), 0644), 0);
  EXPECT_NE(error_of([&] { write_file_atomic(folder / "fifo", "x"); }).find("a FIFO"), std::string::npos);
  fs::create_symlink("a", folder / "link");
  write_file_atomic(folder / "link", "through the link");
  EXPECT_TRUE(fs::is_symlink(folder / "link"));
  EXPECT_EQ(testing::read_text(folder / "a"), "through the link");
  fs::create_symlink("nowhere", folder / "dangling");
  EXPECT_NE(error_of([&] { write_file_atomic(folder / "dangling", "x"); }).find("which does not exist"),
            std::string::npos);
  EXPECT_EQ(std::distance(fs::directory_iterator(folder), fs::directory_iterator{}), 4);  // a, fifo, link, dangling: no temporary file left
}

TEST(OutputDir, CommitsEverythingOrRefusesBeforeMovingAnything) {
  const auto folder = fresh_folder("output-dir");
  {
    OutputDir out(folder / "o", Existing::refuse);
    out.write("a.csv", "1\n");
    fs::create_directories(out.staged("sub"));
    out.write("sub/b.csv", "2\n");
    out.commit();
  }
  EXPECT_TRUE(fs::is_regular_file(folder / "o" / "sub" / "b.csv"));
  fs::remove(folder / "o" / "sub" / "b.csv");
  ASSERT_EQ(mkfifo((folder / "o" / "sub" / "b.csv").c_str(), 0644), 0);
  OutputDir out(folder / "o", Existing::replace);
  out.write("a.csv", "changed\n");
  fs::create_directories(out.staged("sub"));
  out.write("sub/b.csv", "2\n");
  EXPECT_NE(error_of([&] { out.commit(); }).find("a FIFO"), std::string::npos);
  EXPECT_EQ(testing::read_text(folder / "o" / "a.csv"), "1\n");  // nothing moved
}

TEST(OutputDir, CommitsAllFilesOrNone) {
  const auto folder = fresh_folder("out");
  {
    OutputDir out(folder / "result", Existing::refuse);
    out.write("a.txt", "A");
    EXPECT_FALSE(fs::exists(folder / "result"));
  }  // destroyed without commit: nothing may remain
  EXPECT_TRUE(fs::is_empty(folder));
  {
    OutputDir out(folder / "result", Existing::refuse);
    out.write("a.txt", "A");
    out.write("b.txt", "B");
    out.commit();
  }
  EXPECT_TRUE(fs::exists(folder / "result" / "a.txt"));
  EXPECT_TRUE(fs::exists(folder / "result" / "b.txt"));
  size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(folder)) ++entries;
  EXPECT_EQ(entries, 1u) << "no staging folder may remain";
  fs::remove_all(folder);
}

TEST(OutputDir, UnwritablePlacesFailAtOnce) {
  EXPECT_NE(error_of([] { OutputDir out("/nonexistent-parent/x", Existing::refuse); }).find("does not exist"), std::string::npos);
  const auto folder = fresh_folder("out-file");
  std::ofstream(folder / "file") << "x";
  EXPECT_NE(error_of([&] { OutputDir out(folder / "file", Existing::refuse); }).find("not a folder"), std::string::npos);
  EXPECT_NE(error_of([&] { check_file_writable(folder / "missing" / "g.json"); }).find("does not exist"), std::string::npos);
  fs::remove_all(folder);
}

}  // namespace
}  // namespace hdiff
