// `hdiff theory --scaling RUN --out OUT` end to end: the contract names of
// scaling.json, the correlation length, and one-line refusals of hostile
// results files with nothing written.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli/cli_support.h"
#include "common/gnuplot.h"

namespace hdiff::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kHeader =
    "v,n_classes,m,s,L,channel,schedule,time,noise,level,agreement,agreement_se,posterior_mass,posterior_mass_se,"
    "samples,grammars\n";

// A phase run's results.csv whose class curves follow an exact scaling function
// with ε* = 0.3 and ν = 2 (the token rows are filler), and its correlations.csv
// with C(h) = 0.2·exp(−h/1.25) at every point.
void write_run(const fs::path& folder, int first_L = 4, int last_L = 8) {
  fs::create_directories(folder);
  std::ofstream results(folder / "results.csv");
  std::ofstream correlations(folder / "correlations.csv");
  results << kHeader;
  correlations << "v,n_classes,m,s,L,channel,schedule,time,noise,level,lca_level,correlation,correlation_se,samples,"
                  "grammars\n";
  for (int L = first_L; L <= last_L; ++L)
    for (int k = -8; k <= 8; ++k) {
      const double noise = 0.3 + 0.01 * k + 0.003;
      const double x = (noise - 0.3) * std::pow(2.0, L / 2.0);
      const double agreement = 0.125 + 0.875 / (1 + std::exp(x / 0.2));
      results << fmt::format("8,8,2,2,{},uniform,,,{},0,{},0.005,{},0.005,100,4\n", L, noise, agreement, agreement);
      results << fmt::format("8,8,2,2,{},uniform,,,{},{},0.9,0.01,0.9,0.01,100,4\n", L, noise, L);
      for (int lca = 0; lca < L; ++lca) {
        const double c = 0.2 * std::exp(-(L - lca) / 1.25);
        correlations << fmt::format("8,8,2,2,{},uniform,,,{},{},{},{},{},100,4\n", L, noise, L, lca, c, 0.1 * c);
      }
    }
}

class ScalingCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("hdiff_scaling_cli_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(ScalingCommand, WritesTheContractNamesAndRecoversTheScaling) {
  write_run(dir_ / "run");
  const auto out = dir_ / "fit";
  const auto result = run_hdiff("theory --scaling " + (dir_ / "run").string() + " --out " + out.string() +
                                " --bootstrap 40 --population 1000 --threads 2");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(read_text(out / "scaling.json"));
  const double critical = json.at("critical_noise");
  const double nu = json.at("nu");
  ASSERT_EQ(json.at("critical_noise_interval").size(), 2u);
  ASSERT_EQ(json.at("nu_interval").size(), 2u);
  const double critical_low = json["critical_noise_interval"][0], critical_high = json["critical_noise_interval"][1];
  const double nu_low = json["nu_interval"][0], nu_high = json["nu_interval"][1];
  EXPECT_NEAR(critical, 0.3, 0.002);
  EXPECT_NEAR(nu, 2.0, 0.1);
  EXPECT_LE(critical_low, critical);
  EXPECT_GE(critical_high, critical);
  EXPECT_LE(nu_low, nu);
  EXPECT_GE(nu_high, nu);
  EXPECT_EQ(json.at("channel"), "uniform");
  EXPECT_EQ(json.at("depths"), nlohmann::json({4, 5, 6, 7, 8}));
  EXPECT_TRUE(json.at("mean_field").contains("note"));  // mean field is the soft channel's theory
  EXPECT_TRUE(json.at("density_evolution").contains("critical_noise"));
  EXPECT_EQ(json.at("method").at("bootstrap_replicas"), 40);
  EXPECT_EQ(json.at("without_smallest_depths").size(), 2u);
  // The correlation length of C(h) = 0.2·exp(−h/1.25), at every (L, noise).
  std::ifstream csv(out / "correlation_length.csv");
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "L,noise,xi,xi_se,decay_per_level,points");
  int rows = 0;
  while (std::getline(csv, line)) {
    ++rows;
    const auto first = line.find(',');
    const auto second = line.find(',', first + 1);
    EXPECT_NEAR(std::stod(line.substr(second + 1)), 1.25, 1e-9) << line;
  }
  EXPECT_EQ(rows, 5 * 17);
  if (fs::exists(out / "collapse.gp") && fs::exists(out / "collapse.png")) {
    EXPECT_TRUE(hdiff::figure_file_complete(out / "collapse.png"));
    EXPECT_TRUE(hdiff::figure_file_complete(out / "correlation_length.svg"));
  }
  EXPECT_NE(result.out.find("collapse (exact BP)"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("correlation length"), std::string::npos) << result.out;
}

TEST_F(ScalingCommand, DepthsPickTheCurvesAndNoCorrelationsIsANote) {
  write_run(dir_ / "run");
  fs::remove(dir_ / "run" / "correlations.csv");
  const auto out = dir_ / "fit";
  const auto result = run_hdiff("theory --scaling " + (dir_ / "run" / "results.csv").string() + " --out " +
                                out.string() + " --depths 5,7 --bootstrap 0 --population 1000");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(read_text(out / "scaling.json"));
  EXPECT_EQ(json.at("depths"), nlohmann::json({5, 7}));
  EXPECT_EQ(json["critical_noise_interval"][0], json["critical_noise"]);
  EXPECT_FALSE(fs::exists(out / "correlation_length.csv"));
  EXPECT_NE(result.out.find("is missing"), std::string::npos) << result.out;
}

TEST_F(ScalingCommand, RefusesHostileResultsWithOneLine) {
  const std::string out = " --out " + (dir_ / "fit").string() + " --population 1000";
  // One depth.
  write_run(dir_ / "one", 6, 6);
  expect_refused(dir_, "theory --scaling " + (dir_ / "one").string() + out, {"at least two depths"});
  // A missing column.
  fs::create_directories(dir_ / "columns");
  std::ofstream(dir_ / "columns" / "results.csv") << "v,n_classes,m,s,L,channel,noise,level,agreement\n"
                                                     "8,8,2,2,4,uniform,0.1,0,0.9\n";
  expect_refused(dir_, "theory --scaling " + (dir_ / "columns").string() + out, {"agreement_se"});
  // NaN.
  write_run(dir_ / "nan");
  {
    std::ofstream csv(dir_ / "nan" / "results.csv", std::ios::app);
    csv << "8,8,2,2,4,uniform,,,0.5,0,nan,0.005,0.5,0.005,100,4\n";
  }
  expect_refused(dir_, "theory --scaling " + (dir_ / "nan").string() + out, {"nan"});
  // A damaged correlations.csv beside good results.
  write_run(dir_ / "damaged");
  std::ofstream(dir_ / "damaged" / "correlations.csv", std::ios::app) << "8,8,2,2,4,uniform,,,0.3,4,1,inf,0.1,100,4\n";
  expect_refused(dir_, "theory --scaling " + (dir_ / "damaged").string() + out, {"correlations.csv"});
  // Huge: larger than any results.csv (a sparse file: no disk is used).
  fs::create_directories(dir_ / "huge");
  {
    std::ofstream csv(dir_ / "huge" / "results.csv");
    csv << kHeader;
  }
  fs::resize_file(dir_ / "huge" / "results.csv", (uint64_t{1} << 32) + 1);
  expect_refused(dir_, "theory --scaling " + (dir_ / "huge").string() + out, {"results.csv"});
  fs::remove(dir_ / "huge" / "results.csv");
  // No results at all, a folder without them, and options that do not go with --scaling.
  expect_refused(dir_, "theory --scaling " + (dir_ / "absent").string() + out, {"absent"});
  write_run(dir_ / "run");
  expect_refused(dir_, "theory --scaling " + (dir_ / "run").string() + " --threshold" + out, {"--scaling"});
  expect_refused(dir_, "theory --scaling " + (dir_ / "run").string() + " --bootstrap -1" + out, {"--bootstrap"});
  expect_refused(dir_, "theory --scaling " + (dir_ / "run").string() + " --depths 4,11" + out, {"L = 11"});
  expect_refused(dir_, "theory --scaling " + (dir_ / "run").string() + " --channel mask" + out, {"--channel"});
}

}  // namespace
}  // namespace hdiff::testing
