// Output tests of `hdiff phase`: files, reproducibility across thread counts,
// clean failures and Ctrl-C.

#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include <fmt/format.h>

#include "cli/cli_support.h"
#include "experiment/phase_report.h"

namespace hdiff {
namespace {

using testing::fresh_folder;
using testing::PhaseToml;
using testing::read_text;
using testing::run_hdiff;


size_t lines(const std::string& text) { return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')); }

TEST(PhaseCommand, WritesResultsRunRecordAndFiguresIdenticallyForAnyThreadCount) {
  const auto folder = fresh_folder("phase");
  PhaseToml{}.write(folder / "c.toml");
  PhaseToml{.samples = 100, .trajectories = 3}.write(folder / "t.toml");
  // c and t have 12 units, which two threads run side by side; u has one, whose
  // batches the two threads share.
  PhaseToml{.L = "3", .seeds = 1, .values = "[0.3]"}.write(folder / "u.toml");
  for (const char* name : {"c", "t", "u"}) {
    const auto one = run_hdiff(fmt::format("phase --config {}.toml --out {}1 --threads 1", name, name), folder);
    ASSERT_EQ(one.exit_code, 0) << one.err;
    const auto two = run_hdiff(fmt::format("phase --config {}.toml --out {}2 --threads 2", name, name), folder);
    ASSERT_EQ(two.exit_code, 0) << two.err;
    for (const char* file : {"results.csv", "conditional.csv", "changes.csv", "correlations.csv", "information.csv"})
      EXPECT_EQ(read_text(folder / (name + std::string("1")) / file), read_text(folder / (name + std::string("2")) / file))
          << name << " " << file;
    EXPECT_NE(one.out.find("class agreement A_0"), std::string::npos);
    if (name != std::string("u"))
      EXPECT_NE(one.out.find("L=3: token susceptibility peaks at noise = "), std::string::npos) << one.out;
  }
  const std::string csv = read_text(folder / "c1/results.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')), kPhaseCsvHeader);
  EXPECT_EQ(lines(csv), 1 + 3 * 3 + 3 * 4);
  EXPECT_NE(csv.find("\n8,8,2,2,2,uniform,,,0.3,0,"), std::string::npos);
  const std::string conditional = read_text(folder / "c1/conditional.csv");
  EXPECT_EQ(conditional.substr(0, conditional.find('\n')), kConditionalCsvHeader);
  EXPECT_EQ(lines(conditional), 1 + 2 * (3 * 3 + 3 * 4));
  // No noise: every class is kept, so the changed group is empty (fraction 0, no agreement).
  EXPECT_NE(conditional.find("\n8,8,2,2,2,uniform,,,0,0,kept,1,1,0,600,2\n"), std::string::npos) << conditional;
  EXPECT_NE(conditional.find("\n8,8,2,2,2,uniform,,,0,0,changed,0,,,0,2\n"), std::string::npos) << conditional;
  const std::string changes = read_text(folder / "c1/changes.csv");
  EXPECT_EQ(changes.substr(0, changes.find('\n')), kChangesCsvHeader);
  EXPECT_EQ(lines(changes), 1 + 3 * 2 + 3 * 3);
  // Nothing varies at noise 0: χ is undefined, the raw and windowed sums are 0 (R = 10).
  EXPECT_NE(changes.find("\n8,8,2,2,2,uniform,,,0,1,0,,,300,2,0,0,0,0,10\n"), std::string::npos) << changes;
  const std::string information = read_text(folder / "c1/information.csv");
  EXPECT_EQ(information.substr(0, information.find('\n')), kInformationCsvHeader);
  EXPECT_EQ(lines(information), 1 + 3 * 3 + 3 * 4);
  // The class's prior entropy is log 8, first after the key columns.
  EXPECT_NE(information.find(fmt::format("\n8,8,2,2,2,uniform,,,0,0,{},", std::log(8.0))), std::string::npos)
      << information;
  const std::string correlations = read_text(folder / "c1/correlations.csv");
  EXPECT_EQ(correlations.substr(0, correlations.find('\n')), kCorrelationsCsvHeader);
  EXPECT_EQ(lines(correlations), 1 + 3 * (1 + 2) + 3 * (1 + 2 + 3));
  const auto record = nlohmann::json::parse(read_text(folder / "t1/run.json"));
  EXPECT_EQ(record.at("config").at("run").at("samples"), 100);
  EXPECT_EQ(record.at("config").at("run").at("trajectories"), 3);
  EXPECT_TRUE(record.contains("git_commit"));
  EXPECT_TRUE(record.contains("wall_seconds"));
  if (testing::gnuplot_installed())
    for (const char* figure : {"class_agreement", "level_agreement", "conditional_agreement", "token_susceptibility",
                               "information", "speciation"})
      for (const char* extension : {".png", ".svg", ".pdf"})
        EXPECT_GT(std::filesystem::file_size(folder / "c1" / (figure + std::string(extension))), 1000u) << figure;
  std::filesystem::remove_all(folder);
}

TEST(PhaseCommand, BadConfigsAndOutputsFailBeforeAnyWork) {
  const auto folder = fresh_folder("phase-bad");
  PhaseToml{.m = "\"two\""}.write(folder / "bad.toml");
  auto result = run_hdiff("phase --config bad.toml --out x", folder);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("bad.toml:4: grammar.m must be an integer"), std::string::npos) << result.err;
  result = run_hdiff("phase --config missing.toml --out x", folder);
  EXPECT_EQ(result.exit_code, 2);
  PhaseToml{}.write(folder / "c.toml");
  result = run_hdiff("phase --config c.toml --out no/such/place", folder);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("does not exist"), std::string::npos) << result.err;
  EXPECT_EQ(testing::entries_in(folder), 2);  // the two configs, nothing else
  std::filesystem::remove_all(folder);
}

TEST(PhaseCommand, CtrlCKeepsCompletedRowsAndFailsWithoutFigures) {
  const auto folder = fresh_folder("phase-int");
  PhaseToml{.L = "[2, 11]", .samples = 20000}.write(folder / "c.toml");  // L = 11 takes about 10 s
  const std::string command = "cd '" + folder.string() + "' && exec '" + HDIFF_BINARY +
                              "' phase --config c.toml --out partial > /dev/null 2> err.txt";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait until L = 2 is certainly done (it takes well under a second), then interrupt inside L = 11.
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
  EXPECT_LT(rows, 3 * 3 + 3 * 12) << "the interrupted depth is not complete";
  const std::string conditional = read_text(folder / "partial/conditional.csv");
  EXPECT_EQ(std::count(conditional.begin(), conditional.end(), '\n') - 1, 2 * rows) << "the same rows, kept and changed";
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace hdiff
