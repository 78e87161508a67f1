// Output tests of `hdiff phase`: files, reproducibility across thread counts,
// clean failures and Ctrl-C.

#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include "cli/cli_support.h"
#include "experiment/phase_report.h"

namespace hdiff {
namespace {

using testing::fresh_folder;
using testing::read_text;
using testing::run_hdiff;

const char* kSmallConfig = R"([grammar]
v = 8
classes = 8
m = 2
s = 2
L = [2, 3]
seeds = 2
[noise]
channel = "uniform"
values = [0.0, 0.3, 0.9]
[run]
samples = 300
seed = 3
)";

TEST(PhaseCommand, WritesResultsRunRecordAndFiguresIdenticallyForAnyThreadCount) {
  const auto folder = fresh_folder("phase");
  std::ofstream(folder / "c.toml") << kSmallConfig;
  const auto one = run_hdiff("phase --config c.toml --out one --threads 1", folder);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const auto two = run_hdiff("phase --config c.toml --out two --threads 2", folder);
  ASSERT_EQ(two.exit_code, 0) << two.err;
  const std::string csv = read_text(folder / "one/results.csv");
  EXPECT_EQ(csv, read_text(folder / "two/results.csv"));
  EXPECT_EQ(csv.substr(0, csv.find('\n')), kPhaseCsvHeader);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 3 * 3 + 3 * 4);
  EXPECT_NE(csv.find("\n8,8,2,2,2,uniform,,,0.3,0,"), std::string::npos);
  const auto record = nlohmann::json::parse(read_text(folder / "one/run.json"));
  EXPECT_EQ(record.at("config").at("run").at("samples"), 300);
  EXPECT_TRUE(record.contains("git_commit"));
  EXPECT_TRUE(record.contains("wall_seconds"));
  if (std::system("command -v gnuplot > /dev/null") == 0)
    for (const char* figure : {"class_agreement.png", "class_agreement.svg", "level_agreement.png", "level_agreement.svg"})
      EXPECT_GT(std::filesystem::file_size(folder / "one" / figure), 1000u) << figure;
  EXPECT_NE(one.out.find("class agreement A_0"), std::string::npos);
  std::filesystem::remove_all(folder);
}

TEST(PhaseCommand, BadConfigsAndOutputsFailBeforeAnyWork) {
  const auto folder = fresh_folder("phase-bad");
  std::string config = kSmallConfig;
  config.replace(config.find("m = 2"), 5, "m = \"two\"");
  std::ofstream(folder / "bad.toml") << config;
  auto result = run_hdiff("phase --config bad.toml --out x", folder);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("bad.toml:4: grammar.m must be an integer"), std::string::npos) << result.err;
  result = run_hdiff("phase --config missing.toml --out x", folder);
  EXPECT_EQ(result.exit_code, 2);
  std::ofstream(folder / "c.toml") << kSmallConfig;
  result = run_hdiff("phase --config c.toml --out no/such/place", folder);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("does not exist"), std::string::npos) << result.err;
  EXPECT_EQ(testing::entries_in(folder), 2);  // the two configs, nothing else
  std::filesystem::remove_all(folder);
}

TEST(PhaseCommand, CtrlCKeepsCompletedRowsAndFailsWithoutFigures) {
  const auto folder = fresh_folder("phase-int");
  std::string config = kSmallConfig;
  config.replace(config.find("samples = 300"), 13, "samples = 20000");
  config.replace(config.find("L = [2, 3]"), 10, "L = [2, 9]");
  std::ofstream(folder / "c.toml") << config;
  const std::string command = "cd '" + folder.string() + "' && exec '" + HDIFF_BINARY +
                              "' phase --config c.toml --out partial > /dev/null 2> err.txt";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait until L = 2 is certainly done (it takes well under a second), then interrupt inside L = 9.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  kill(child, SIGINT);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130) << read_text(folder / "err.txt");
  EXPECT_NE(read_text(folder / "err.txt").find("interrupted"), std::string::npos);
  const std::string csv = read_text(folder / "partial/results.csv");
  const auto rows = std::count(csv.begin(), csv.end(), '\n') - 1;
  EXPECT_GE(rows, 3 * 3) << "the completed L = 2 rows are kept";
  EXPECT_LT(rows, 3 * 3 + 3 * 10) << "the interrupted depth is not complete";
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace hdiff
