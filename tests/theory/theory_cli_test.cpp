// `hdiff theory` end to end: the files it writes, the comparison with a phase
// results.csv, and one-line errors with no partial output.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

struct CommandRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class TheoryCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("hdiff_theory_cli_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  CommandRun run(const std::string& arguments) {
    const std::string command = std::string(HDIFF_BINARY) + " theory " + arguments + " --threads 2 > '" +
                                (dir_ / "stdout").string() + "' 2> '" + (dir_ / "stderr").string() + "'";
    const int status = std::system(command.c_str());
    return CommandRun{WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(dir_ / "stdout"), read_text(dir_ / "stderr")};
  }

  fs::path dir_;
};

TEST_F(TheoryCli, NoiseWritesOneRowPerLevel) {
  const auto out = dir_ / "predictions";
  const CommandRun result = run("--v 8 --classes 4 --m 2 --s 2 --noise 0.1,0.3 --depths 2,3 --population 500 --out " + out.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::ifstream csv(out / "theory.csv");
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "v,n_classes,m,s,channel,noise,L,level,posterior_mass,posterior_mass_se,population");
  int rows = 0;
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(rows, 2 * (3 + 4));
  EXPECT_TRUE(fs::exists(out / "run.json"));
}

TEST_F(TheoryCli, ThresholdWritesIntervalAndTimes) {
  const auto out = dir_ / "threshold";
  const CommandRun result =
      run("--v 16 --m 4 --channel mask --threshold --population 1000 --levels 10 --tolerance 0.02 --out " + out.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(read_text(out / "threshold.json"));
  const double critical = json["critical_noise"];
  const double low = json["interval"][0], high = json["interval"][1];
  EXPECT_LE(low, high);
  EXPECT_GT(critical, 0.0);
  EXPECT_LT(critical, 1.0);
  for (const char* schedule : {"linear", "cosine"}) {
    const double t = json["critical_time"][schedule]["time"];
    EXPECT_GT(t, 0.0);
    EXPECT_LT(t, 1000.0);
  }
  EXPECT_NE(result.out.find("critical epsilon"), std::string::npos) << result.out;
}

TEST_F(TheoryCli, CompareOverlaysMeasuredAgreement) {
  const auto results = dir_ / "results.csv";
  {
    std::ofstream csv(results);
    csv << "v,n_classes,m,s,L,channel,schedule,time,noise,level,agreement,agreement_se,posterior_mass,"
           "posterior_mass_se,samples,grammars\n";
    for (double noise : {0.1, 0.3}) {
      csv << "8,8,2,2,2,uniform,,," << noise << ",0,0.6,0.02,0.6,0.01,100,2\n";
      csv << "8,8,2,2,2,uniform,,," << noise << ",1,0.7,0.02,0.7,0.01,100,2\n";
    }
    csv << "8,8,3,2,2,uniform,,,0.2,0,0.5,0.02,0.5,0.01,100,2\n";  // another model: ignored
  }
  const auto out = dir_ / "compare";
  const CommandRun result = run("--v 8 --classes 8 --m 2 --s 2 --population 500 --compare " + results.string() + " --out " +
                         out.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("largest deviation"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("over 2 points"), std::string::npos) << result.out;
  EXPECT_TRUE(fs::exists(out / "theory.csv"));
  EXPECT_TRUE(fs::exists(out / "comparison.dat"));
  if (std::system("command -v gnuplot > /dev/null 2>&1") == 0) {
    EXPECT_TRUE(fs::exists(out / "comparison.png"));
    EXPECT_TRUE(fs::exists(out / "comparison.svg"));
  }
}

TEST_F(TheoryCli, ImpossibleRequestsFailOnOneLineWithoutOutput) {
  const auto out = dir_ / "never";
  const char* cases[] = {
      "--v 8 --m 20 --noise 0.1",                 // 8·20 productions > 8^2 tuples
      "--noise 0.1 --threshold",                  // two modes at once
      "--threshold --depths 4",                   // depths mean nothing to the threshold
      "--noise 1.2",                              // ε outside [0, 1]
      "--channel gaussian --noise 1",             // ᾱ = 1 has no density
      "--noise 0.1 --depths 0",                   // no tree
      "--noise 0.1 --population 10",              // too small to estimate an error
      "--compare /nonexistent/results.csv",       // unreadable comparison
      "",                                         // nothing asked
  };
  for (const char* arguments : cases) {
    const CommandRun result = run(std::string(arguments) + " --out " + out.string());
    EXPECT_EQ(result.exit_code, 2) << arguments;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << arguments << ": " << result.err;
    EXPECT_NE(result.err.find("error"), std::string::npos) << arguments;
    EXPECT_FALSE(fs::exists(out)) << arguments;
  }
  const CommandRun unwritable = run("--noise 0.1 --out /proc/hdiff_cannot_write_here");
  EXPECT_EQ(unwritable.exit_code, 2);
}

}  // namespace
