// `hdiff theory` end to end: the files it writes, the comparison with a phase
// results.csv, and one-line errors with no partial output.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/gnuplot.h"
#include "support/helpers.h"

namespace {

namespace fs = std::filesystem;

using hdiff::testing::CommandResult;
using hdiff::testing::read_text;

class TheoryCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("hdiff_theory_cli_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  CommandResult run(const std::string& arguments) {
    return hdiff::testing::run_hdiff("theory " + arguments + " --threads 2");
  }

  fs::path dir_;
};

TEST_F(TheoryCli, NoiseWritesOneRowPerLevel) {
  const auto out = dir_ / "predictions";
  const CommandResult result = run("--v 8 --classes 4 --m 2 --s 2 --noise 0.1,0.3 --depths 2,3 --population 500 --out " + out.string());
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
  const CommandResult result =
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
  const CommandResult result = run("--v 8 --classes 8 --m 2 --s 2 --population 500 --compare " + results.string() + " --out " +
                         out.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("largest deviation"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("over 2 points"), std::string::npos) << result.out;
  EXPECT_TRUE(fs::exists(out / "theory.csv"));
  EXPECT_TRUE(fs::exists(out / "comparison.dat"));
  if (hdiff::testing::gnuplot_installed())
    for (const char* format : hdiff::kFigureFormats)
      EXPECT_TRUE(hdiff::figure_file_complete(out / (std::string("comparison.") + format))) << format;
}

// `--compare DIR` takes v, classes, m, s and the channel from DIR/results.csv
// (before: the defaults v = 32, m = 8, ... unless each was repeated); options
// may repeat the model, a contradicting one is refused on one line.
TEST_F(TheoryCli, CompareReadsTheModelFromTheResults) {
  fs::create_directories(dir_ / "run");
  const auto write_results = [&](bool second_model) {
    std::ofstream csv(dir_ / "run" / "results.csv");
    csv << "v,n_classes,m,s,L,channel,schedule,time,noise,level,agreement,agreement_se,posterior_mass,"
           "posterior_mass_se,samples,grammars\n";
    for (double noise : {0.1, 0.3})
      for (int L : {2, 3}) csv << "6,4,2,2," << L << ",mask,,," << noise << ",0,0.6,0.02,0.6,0.01,100,2\n";
    if (second_model) csv << "6,4,3,2,2,mask,,,0.2,0,0.5,0.02,0.5,0.01,100,2\n";
  };
  write_results(false);
  for (const std::string given : {"", " --v 6 --channel mask", " --classes 4 --m 2 --s 2"}) {
    const auto out = dir_ / "compare";
    const CommandResult result = run("--population 500 --compare " + (dir_ / "run").string() + given + " --out " + out.string());
    ASSERT_EQ(result.exit_code, 0) << given << ": " << result.err;
    EXPECT_NE(result.out.find("v=6 classes=4 m=2 s=2 mask: 4 class-level points"), std::string::npos) << result.out;
    const std::string theory = read_text(out / "theory.csv");
    // The model, the depths 2 and 3 and the noise levels 0.1 and 0.3 of the results.
    EXPECT_NE(theory.find("\n6,4,2,2,mask,0.1,2,0,"), std::string::npos) << theory;
    EXPECT_NE(theory.find("\n6,4,2,2,mask,0.3,3,0,"), std::string::npos) << theory;
    EXPECT_EQ(theory.find(",0.2,"), std::string::npos) << theory;
    fs::remove_all(out);
  }
  const auto refused = [&](const std::string& arguments, const std::string& reason) {
    const auto out = dir_ / "never";
    const CommandResult result = run("--population 500 --compare " + (dir_ / "run").string() + arguments + " --out " +
                                  out.string());
    EXPECT_EQ(result.exit_code, 2) << arguments;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << arguments << ": " << result.err;
    EXPECT_EQ(result.err.rfind("hdiff: error: ", 0), 0u) << arguments << ": " << result.err;
    EXPECT_NE(result.err.find(reason), std::string::npos) << arguments << ": " << result.err;
    EXPECT_FALSE(fs::exists(out)) << arguments;
  };
  refused(" --v 8", "--v 8 contradicts " + (dir_ / "run" / "results.csv").string() +
                        ", which holds v=6 classes=4 m=2 s=2 mask; the model is read from the results: drop --v");
  refused(" --channel uniform", "--channel uniform contradicts");
  refused(" --m 3", "--m 3 contradicts");
  write_results(true);
  refused("", "holds 2 models (v=6 classes=4 m=2 s=2 mask; v=6 classes=4 m=3 s=2 mask); choose one with --v");
  const CommandResult chosen = run("--population 500 --m 3 --compare " + (dir_ / "run" / "results.csv").string() +
                                " --out " + (dir_ / "m3").string());
  ASSERT_EQ(chosen.exit_code, 0) << chosen.err;
  EXPECT_NE(read_text(dir_ / "m3" / "theory.csv").find("\n6,4,3,2,mask,0.2,2,0,"), std::string::npos);
}

TEST_F(TheoryCli, MeanFieldWritesTheSoftChannelsCriticalQuantities) {
  for (const char* channel : {"", " --channel soft"}) {
    const auto out = dir_ / (std::string("mean_field") + (channel[0] ? "_soft" : ""));
    const CommandResult result = run(std::string("--mean-field --v 32 --classes 32 --m 8 --s 2") + channel + " --out " + out.string());
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const auto json = nlohmann::json::parse(read_text(out / "mean_field.json"));
    EXPECT_NEAR(json["critical_noise"].get<double>(), 0.731, 0.001);
    EXPECT_NEAR(json["nu"].get<double>(), 1.89, 0.005);
    EXPECT_GT(json["slope_at_p_star"].get<double>(), 1.0);
    EXPECT_LT(json["slope_at_one"].get<double>(), 1.0);
    EXPECT_NEAR(json["p_star"].get<double>(), 1 - json["critical_noise"].get<double>() * (1 - 1.0 / 32), 1e-12);
    EXPECT_EQ(json["channel"], "soft");
    EXPECT_EQ(json["m"], 8);
    EXPECT_NE(result.out.find("critical epsilon* = 0.731"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("nu = 1.89"), std::string::npos) << result.out;
  }
}

TEST_F(TheoryCli, SoftChannelPredictsAndFindsItsThreshold) {
  const auto out = dir_ / "soft";
  const CommandResult predicted = run("--v 8 --classes 4 --m 3 --s 2 --channel soft --noise 0.2,0.6 --depths 2 "
                                   "--population 500 --out " + out.string());
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  EXPECT_NE(read_text(out / "theory.csv").find(",soft,0.6,2,0,"), std::string::npos);
  const auto threshold = dir_ / "soft_threshold";
  const CommandResult found = run("--v 32 --m 8 --channel soft --threshold --population 2000 --levels 16 --tolerance 0.01 "
                               "--out " + threshold.string());
  ASSERT_EQ(found.exit_code, 0) << found.err;
  const auto json = nlohmann::json::parse(read_text(threshold / "threshold.json"));
  EXPECT_EQ(json["channel"], "soft");
  EXPECT_NEAR(json["critical_noise"].get<double>(), 0.73, 0.03);  // mean field: 0.731
}

TEST_F(TheoryCli, CompareOverlaysTheMeanFieldForSoft) {
  const auto results = dir_ / "results.csv";
  {
    std::ofstream csv(results);
    csv << "v,n_classes,m,s,L,channel,schedule,time,noise,level,agreement,agreement_se,posterior_mass,"
           "posterior_mass_se,samples,grammars\n";
    for (double noise : {0.7, 0.75})
      for (int L : {2, 3}) csv << "16,16,4,2," << L << ",soft,,," << noise << ",0,0.3,0.02,0.3,0.01,100,2\n";
  }
  for (const std::string channel : {"soft", "uniform"}) {
    const auto out = dir_ / ("compare_" + channel);
    if (channel == "uniform") {  // the same rows as uniform ones: no mean field
      std::string text = read_text(results);
      for (size_t at = text.find(",soft,"); at != std::string::npos; at = text.find(",soft,"))
        text.replace(at, 6, ",uniform,");
      std::ofstream(results) << text;
    }
    const CommandResult result = run("--v 16 --classes 16 --m 4 --s 2 --population 500 --channel " + channel +
                                  " --compare " + results.string() + " --out " + out.string());
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const std::string data = read_text(out / "comparison.dat");
    EXPECT_EQ(data.find("# mean field L=3") != std::string::npos, channel == "soft") << channel;
    if (channel == "soft") {
      // L = 2 at ε = 0.7: p_2 = 1 − 0.7 + 0.7/16, then two steps of F.
      const auto F = [](double p) {
        return (p * p + 3 * (1 - p * p) / 255) / (p * p + 63 * (1 - p * p) / 255);
      };
      const double expected = F(F(1 - 0.7 + 0.7 / 16));
      const auto block = data.find("# mean field L=2\n");
      ASSERT_NE(block, std::string::npos);
      std::istringstream line(data.substr(block + 17));
      double noise = 0, mass = 0;
      line >> noise >> mass;
      EXPECT_DOUBLE_EQ(noise, 0.7);
      EXPECT_NEAR(mass, expected, 1e-12);
    }
  }
}

TEST_F(TheoryCli, ImpossibleRequestsFailOnOneLineWithoutOutput) {
  const auto out = dir_ / "never";
  // A results.csv with one class-level row, its fields replaced per case.
  auto results_with = [&](const std::string& name, const std::string& L, const std::string& v, const std::string& agreement,
                          const std::string& se) {
    const auto path = dir_ / (name + ".csv");
    std::ofstream(path) << "v,n_classes,m,s,L,channel,noise,level,agreement,agreement_se\n"
                        << v << ",8,2,2," << L << ",uniform,0.1,0," << agreement << "," << se << "\n";
    return " --v 8 --classes 8 --m 2 --population 500 --compare " + path.string();
  };
  // The arguments and a piece of the one error line that says why.
  const std::pair<std::string, std::string> cases[] = {
      {"--v 8 --m 20 --noise 0.1", "exceed the v^s"},
      {"--noise 0.1 --threshold", "cannot be combined"},
      {"--threshold --depths 4", "--depths has no effect"},
      {"--noise 1.2", "outside [0, 1]"},
      {"--channel gaussian --noise 1", "no density"},
      {"--noise 0.1 --depths 0", "depth L = 0"},
      {"--noise 0.1 --population 10", "too small"},
      {"--compare /nonexistent/results.csv", "cannot read /nonexistent/results.csv"},
      {"", "nothing to compute"},
      {"--mean-field --v 4 --classes 4 --m 4", "no transition"},
      {"--mean-field --channel uniform", "theory of the soft channel"},
      {"--mean-field --threshold", "cannot be combined"},
      {"--mean-field --noise 0.5", "cannot be combined"},
      {"--channel salt --noise 0.1", "unknown noise channel"},
      {"--threshold --levels -1", "levels = -1"},
      {"--threshold --levels 1", "levels = 1"},
      {"--threshold --tolerance nan", "tolerance = nan"},
      {"--threshold --tolerance 0.5", "tolerance = 0.5"},
      // Results that are not a phase run's (found in review: NaN, infinity and wrapped integers were taken).
      {results_with("nan", "2", "8", "nan", "0.01"), "column agreement holds nan, not a finite number"},
      {results_with("inf", "2", "8", "0.5", "inf"), "column agreement_se holds inf, not a finite number"},
      {results_with("negative", "2", "8", "0.5", "-3"), "column agreement_se holds -3, outside"},
      {results_with("above", "2", "8", "1e308", "0.01"), "column agreement holds 1e308, outside [0, 1]"},
      {results_with("fraction", "2.9", "8", "0.5", "0.01"), "column L holds 2.9, not a whole number"},
      {results_with("wide", "2", "8.5", "0.5", "0.01"), "column v holds 8.5, not a whole number"},
      {results_with("wrapped", "4294967298", "8", "0.5", "0.01"), "column L holds 4294967298, outside"},
  };
  for (const auto& [arguments, reason] : cases) {
    const CommandResult result = run(arguments + " --out " + out.string());
    EXPECT_EQ(result.exit_code, 2) << arguments;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << arguments << ": " << result.err;
    EXPECT_EQ(result.err.rfind("hdiff: error: ", 0), 0u) << arguments << ": " << result.err;
    EXPECT_NE(result.err.find(reason), std::string::npos) << arguments << ": " << result.err;
    EXPECT_FALSE(fs::exists(out)) << arguments;
    for (const auto& entry : fs::directory_iterator(dir_))
      EXPECT_EQ(entry.path().filename().string().rfind(".never", 0), std::string::npos)
          << arguments << " left " << entry.path() << " behind";
  }
  const CommandResult unwritable = run("--noise 0.1 --out /proc/hdiff_cannot_write_here");
  EXPECT_EQ(unwritable.exit_code, 2);
  const CommandResult no_transition = run("--mean-field --v 4 --classes 4 --m 4 --out " + out.string());
  EXPECT_NE(no_transition.err.find("no transition"), std::string::npos) << no_transition.err;
  EXPECT_NE(no_transition.err.find("1.6"), std::string::npos) << no_transition.err;
}

}  // namespace
