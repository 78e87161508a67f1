// No data lost (issue 25): a run never replaces another run's results, a
// device node, a FIFO or anything not its own; two runs never share an output;
// kills, Ctrl-C, file-size limits and full disks leave the journal, not debris.
// Each test failed on the main branch before the fix it guards.

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "cli/cli_support.h"

namespace hdiff {
namespace {

namespace fs = std::filesystem;
using testing::entries_in;
using testing::fresh_folder;
using testing::read_text;
using testing::run_hdiff;

const testing::PhaseToml kQuick{};
// Seconds on one thread (about 25 on a busy 2-core machine): long enough to be caught running and
// interrupted three times (2.9 s in all) on a fast idle one.
const testing::PhaseToml kSlow{.L = "[2, 4, 6, 7]", .seeds = 3, .values = "[0.1, 0.3, 0.6]", .samples = 100000};

// Names in `folder` that start with a dot, the test's captures excepted.
std::vector<std::string> hidden_names(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (name[0] == '.' && name != ".stdout" && name != ".stderr") names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// One line on stderr, exit 2, nothing on stdout.
void expect_one_line_error(const testing::CommandResult& r, const std::string& part) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
}

// Starts `hdiff ARGS` in `folder` without waiting; returns its pid.
pid_t start_hdiff(const fs::path& folder, const std::vector<std::string>& args) {
  const pid_t child = fork();
  if (child == 0) {
    if (chdir(folder.c_str()) != 0) _exit(127);
    if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(127);
    std::vector<char*> argv{const_cast<char*>(HDIFF_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(HDIFF_BINARY, argv.data());
    _exit(127);
  }
  return child;
}

// Waits until `path` exists (the run has reached its work), at most 20 s.
bool wait_for(const fs::path& path) {
  for (int i = 0; i < 2000; ++i) {
    if (fs::exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

int stop(pid_t child, int signal) {
  kill(child, signal);
  int status = 0;
  waitpid(child, &status, 0);
  return status;
}

TEST(OutputSafety, ASecondRunIntoABusyOutputIsRefusedNamingTheFirst) {
  const auto folder = fresh_folder("busy");
  kSlow.write(folder / "c.toml");
  const pid_t first = start_hdiff(folder, {"phase", "--config", "c.toml", "--out", "o", "--threads", "1"});
  ASSERT_TRUE(wait_for(folder / ".o.unfinished" / "journal"));
  // As a requeued cluster job would: the same command with --resume while the first still runs.
  const auto second = run_hdiff("phase --config c.toml --out o --resume --threads 1", folder);
  expect_one_line_error(second, fmt::format("o is in use by another run (pid {} on ", first));
  const auto other = run_hdiff("sample --grammar nothing.json --n 1 --out o", folder);
  EXPECT_EQ(other.exit_code, 2);
  stop(first, SIGKILL);
  // The journal of the first run is intact: the run resumes and finishes.
  const auto resumed = run_hdiff("phase --config c.toml --out o --resume", folder);
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_TRUE(hidden_names(folder).empty()) << fmt::format("{}", fmt::join(hidden_names(folder), " "));
}

TEST(OutputSafety, AFinishedRunIsNotReplacedWithoutForce) {
  const auto folder = fresh_folder("replace");
  kQuick.write(folder / "a.toml");
  testing::PhaseToml other = kQuick;
  other.samples = 200;
  other.write(folder / "b.toml");
  ASSERT_EQ(run_hdiff("phase --config a.toml --out o", folder).exit_code, 0);
  const std::string before = read_text(folder / "o" / "results.csv");
  for (const char* config : {"a.toml", "b.toml"}) {
    const auto again = run_hdiff(fmt::format("phase --config {} --out o", config), folder);
    expect_one_line_error(again, "o already holds the results of another run; give another --out, or add --force");
    EXPECT_EQ(read_text(folder / "o" / "results.csv"), before);
  }
  const auto forced = run_hdiff("phase --config b.toml --out o --force", folder);
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(read_text(folder / "o" / "results.csv"), before);
  // The same for the other commands that write folders or files.
  ASSERT_EQ(run_hdiff("grammar --v 8 --classes 8 --m 2 --L 3 --out g.json", folder).exit_code, 0);
  expect_one_line_error(run_hdiff("grammar --v 8 --classes 8 --m 2 --L 3 --seed 1 --out g.json", folder),
                        "g.json already exists");
  EXPECT_EQ(run_hdiff("grammar --v 8 --classes 8 --m 2 --L 3 --seed 1 --out g.json --force", folder).exit_code, 0);
  ASSERT_EQ(run_hdiff("sample --grammar g.json --n 5 --out s", folder).exit_code, 0);
  expect_one_line_error(run_hdiff("sample --grammar g.json --n 6 --out s", folder), "s already holds the results");
  ASSERT_EQ(run_hdiff("theory --noise 0.1 --depths 2 --population 1000 --out t", folder).exit_code, 0);
  expect_one_line_error(run_hdiff("theory --noise 0.2 --depths 2 --population 1000 --out t", folder),
                        "t already holds the results");
  EXPECT_TRUE(hidden_names(folder).empty());
}

TEST(OutputSafety, AGridRerunIntoItsOwnFolderFinishes) {
  const auto folder = fresh_folder("grid-rerun");
  testing::PhaseToml grid = kQuick;
  grid.v = "[8, 9]";
  grid.write(folder / "c.toml");
  ASSERT_EQ(run_hdiff("phase --config c.toml --out o", folder).exit_code, 0);
  const auto forced = run_hdiff("phase --config c.toml --out o --force", folder);
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_TRUE(fs::is_regular_file(folder / "o" / "v9_classes8_m2_s2" / "figures.gp"));
  EXPECT_TRUE(hidden_names(folder).empty());
  // A user's own file in the folder is left alone.
  std::ofstream(folder / "o" / "notes.txt") << "mine\n";
  EXPECT_EQ(run_hdiff("phase --config c.toml --out o --force", folder).exit_code, 0);
  EXPECT_EQ(read_text(folder / "o" / "notes.txt"), "mine\n");
}

// The targets are made here, never the system's own /dev/null: a regression
// (or this test run against older code) must not break the machine it runs on.
TEST(OutputSafety, SpecialFilesAreNeverReplaced) {
  const auto folder = fresh_folder("special");
  ASSERT_EQ(mkfifo((folder / "fifo").c_str(), 0644), 0);
  std::vector<std::string> targets{"fifo"};
  // As root (on these machines and in many containers) a rename replaced a device node.
  const bool root = mknod((folder / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0;
  if (root) targets.push_back("null");
  ASSERT_EQ(run_hdiff("grammar --v 8 --classes 8 --m 2 --L 3 --out g.json", folder).exit_code, 0);
  for (const auto& target : targets) {
    // --force does not change it: only regular files are replaced.
    for (const char* force : {"", " --force"}) {
      const auto r = run_hdiff(fmt::format("grammar --v 8 --classes 8 --m 2 --L 3 --out {}{}", target, force), folder);
      expect_one_line_error(r, "only regular files are replaced");
    }
    expect_one_line_error(run_hdiff(fmt::format("sample --grammar g.json --n 3 --out {}", target), folder), "not a folder");
  }
  struct stat info {};
  ASSERT_EQ(stat((folder / "fifo").c_str(), &info), 0);
  EXPECT_TRUE(S_ISFIFO(info.st_mode));
  if (root) {
    ASSERT_EQ(stat((folder / "null").c_str(), &info), 0);
    EXPECT_TRUE(S_ISCHR(info.st_mode));
    fs::remove(folder / "null");
  }
  // A FIFO inside an output folder, where a result belongs.
  ASSERT_EQ(run_hdiff("sample --grammar g.json --n 3 --out s", folder).exit_code, 0);
  fs::remove(folder / "s" / "tokens.npy");
  ASSERT_EQ(mkfifo((folder / "s" / "tokens.npy").c_str(), 0644), 0);
  expect_one_line_error(run_hdiff("sample --grammar g.json --n 3 --out s --force", folder), "a FIFO");
  ASSERT_EQ(stat((folder / "s" / "tokens.npy").c_str(), &info), 0);
  EXPECT_TRUE(S_ISFIFO(info.st_mode));
  EXPECT_TRUE(hidden_names(folder).empty());
  if (!root) GTEST_SKIP() << "cannot make a device node here (not root): only the FIFO cases ran";
}

TEST(OutputSafety, LeftoversOfKilledRunsAreCleanedAndCtrlCLeavesNone) {
  const auto folder = fresh_folder("leftovers");
  kQuick.write(folder / "c.toml");
  // What a run killed while writing its results left: a full staging folder and a lock file.
  fs::create_directories(folder / ".o.staging-999999-0" / "v8_classes8_m2_s2");
  std::ofstream(folder / ".o.staging-999999-0" / "results.csv") << "half";
  std::ofstream(folder / ".o.lock") << "pid 999999 on gone, hdiff phase, since then\n";
  fs::create_directories(folder / ".other.staging-999999-0");  // another output's: not ours to remove
  ASSERT_EQ(run_hdiff("phase --config c.toml --out o", folder).exit_code, 0);
  EXPECT_EQ(hidden_names(folder), std::vector<std::string>{".other.staging-999999-0"});
  fs::remove(folder / ".other.staging-999999-0");

  // Ctrl-C of a resumed run, twice: the journal stays, nothing else accumulates.
  kSlow.write(folder / "slow.toml");
  for (int round = 0; round < 3; ++round) {
    std::vector<std::string> args{"phase", "--config", "slow.toml", "--out", "p", "--threads", "1"};
    if (round > 0) args.push_back("--resume");
    const pid_t run = start_hdiff(folder, args);
    std::this_thread::sleep_for(std::chrono::milliseconds(round == 0 ? 1500 : 700));
    const int status = stop(run, SIGINT);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 130);
    EXPECT_EQ(hidden_names(folder), std::vector<std::string>{".p.unfinished"});
  }
}

TEST(OutputSafety, AFileSizeLimitIsAnErrorNotASignal) {
  const auto folder = fresh_folder("ulimit");
  ASSERT_EQ(run_hdiff("grammar --v 16 --classes 16 --m 4 --L 4 --out g.json", folder).exit_code, 0);
  // 1 KiB: the grammar fits, 2000 samples of 16 tokens do not.
  const auto r = testing::run_hdiff("sample --grammar g.json --n 2000 --out s", folder, {.prefix = "ulimit -f 2 && "});
  expect_one_line_error(r, "File too large");
  EXPECT_FALSE(fs::exists(folder / "s"));
  EXPECT_TRUE(hidden_names(folder).empty());
  kQuick.write(folder / "c.toml");
  const auto phase = testing::run_hdiff("phase --config c.toml --out p", folder, {.prefix = "ulimit -f 2 && "});
  expect_one_line_error(phase, "File too large");
  EXPECT_FALSE(fs::exists(folder / "p"));
}

TEST(OutputSafety, PathsAreCheckedBeforeAnyWork) {
  const auto folder = fresh_folder("paths");
  kSlow.write(folder / "c.toml");
  fs::create_symlink("missing", folder / "dangling");
  const auto start = std::chrono::steady_clock::now();
  expect_one_line_error(run_hdiff("phase --config c.toml --out dangling", folder),
                        "dangling: it is a symbolic link to missing, which does not exist");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));  // refused before the work
  EXPECT_EQ(hidden_names(folder), std::vector<std::string>{});
  // A legal name of 255 bytes: its hidden staging and journal names are shortened, not refused.
  kQuick.write(folder / "q.toml");
  const std::string longest(255, 'a');
  const auto r = run_hdiff("phase --config q.toml --out " + longest, folder);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::is_regular_file(folder / longest / "results.csv"));
  EXPECT_TRUE(hidden_names(folder).empty());
  // The folder above the output is not writable: said so (root ignores permissions, so this needs another user).
}

// A small file system of our own that fills up, as root; skipped with the reason where mounting is impossible.
class FullDisk : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fresh_folder("full-disk");
    disk_ = folder_ / "disk";
    fs::create_directories(disk_);
    if (mount("hdiff-test", disk_.c_str(), "tmpfs", 0, "size=256k") != 0)
      GTEST_SKIP() << "cannot mount a small tmpfs here (" << std::strerror(errno)
                   << "; needs root with CAP_SYS_ADMIN): the full-disk checks did not run";
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) umount(disk_.c_str());
  }
  fs::path folder_, disk_;
  bool mounted_ = false;
};

TEST_F(FullDisk, ResultsThatDoNotFitAreAnErrorAndNothingIsCommitted) {
  ASSERT_EQ(run_hdiff("grammar --v 16 --classes 16 --m 4 --L 4 --out g.json", folder_).exit_code, 0);
  const auto r = run_hdiff("sample --grammar g.json --n 40000 --out disk/s", folder_);
  expect_one_line_error(r, "No space left on device");
  EXPECT_EQ(entries_in(disk_), 0);
  // The grammar itself fits; a second one on the full disk would not.
  ASSERT_EQ(run_hdiff("grammar --v 16 --classes 16 --m 4 --L 4 --out disk/g.json", folder_).exit_code, 0);
  std::ofstream(disk_ / "filler", std::ios::binary) << std::string(400 * 1024, 'x');
  expect_one_line_error(run_hdiff("grammar --v 16 --classes 16 --m 4 --L 4 --out disk/g2.json", folder_),
                        "No space left on device");
  EXPECT_EQ(entries_in(disk_), 2);  // g.json and the filler: no temporary file left
}

}  // namespace
}  // namespace hdiff
