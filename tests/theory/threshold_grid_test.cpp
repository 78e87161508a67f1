// The threshold over a grid of models: combinations and their checks, exact
// transport of a search's result, threshold.csv, the phase diagram, and
// `hdiff theory --threshold` with lists end to end (each model's row equals its
// own single-model run; --resume continues a journal).

#include "theory/threshold_grid.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <sstream>
#include <tuple>

#include "cli/cli_support.h"
#include "cluster/journal.h"
#include "cluster/unit_runner.h"
#include "common/gnuplot.h"
#include "theory/theory_report.h"

namespace hdiff {
namespace {

using testing::error_of;
using testing::fresh_folder;
using testing::read_text;
using testing::run_hdiff;

TheoryParams small_base() {
  TheoryParams base;
  base.population = 2000;
  base.replicas = 4;
  return base;
}

TEST(ThresholdGrid, CombinationsComeChannelFirstAndInvalidOnesAreListedTogether) {
  const auto grid = threshold_grid(small_base(), {{Channel::uniform, Channel::mask}, {8, 16}, {8}, {2, 4}, {2}});
  ASSERT_EQ(grid.size(), 8u);
  EXPECT_EQ(grid[0].channel, Channel::uniform);
  EXPECT_EQ(grid[4].channel, Channel::mask);
  EXPECT_EQ(std::make_pair(grid[1].v, grid[1].m), std::make_pair(8, 4));
  EXPECT_EQ(std::make_pair(grid[2].v, grid[2].m), std::make_pair(16, 2));
  EXPECT_EQ(grid[3].population, 2000);
  EXPECT_DOUBLE_EQ(production_fraction(grid[3]), 4.0 / 16.0);
  const std::string message =
      error_of([] { threshold_grid(small_base(), {{Channel::uniform, Channel::soft}, {8, 16}, {8}, {2, 12}, {2}}); });
  // v = 8 has 64 tuples, too few for 8·12 productions; v = 16 has 256, enough for 16·12.
  EXPECT_EQ(message.find("2 of the 8 model combinations of the lists are invalid: [uniform v=8 classes=8 m=12 s=2] "), 0u)
      << message;
  EXPECT_NE(message.find("; [soft v=8 classes=8 m=12 s=2] "), std::string::npos) << message;
  EXPECT_EQ(message.find("v=16"), std::string::npos) << message;
}

TEST(ThresholdGrid, ResultsTravelExactlyAndFillTheCsvAndTheDiagram) {
  TheoryParams params = small_base();
  params.v = 8;
  params.n_classes = 8;
  params.m = 2;
  const ThresholdOptions options{10, 0.05};
  const ThresholdResult result = find_threshold(params, options);
  ASSERT_FALSE(result.probes.empty());
  double wall = 0;
  const ThresholdResult back = decode_threshold(encode_threshold(result, 1.25), options, wall);
  EXPECT_EQ(wall, 1.25);
  EXPECT_EQ(threshold_json(params, options, back, wall), threshold_json(params, options, result, 1.25));
  EXPECT_NE(error_of([&] { decode_threshold(encode_threshold(result, 1).substr(0, 30), options, wall); }).find("cut short"),
            std::string::npos);
  EXPECT_NE(error_of([&] { decode_threshold(encode_threshold(result, 1) + "x", options, wall); }).find("trailing"), std::string::npos);
  for (const double forged : {std::nan(""), HUGE_VAL}) {
    std::string edited = encode_threshold(result, 1);
    std::memcpy(edited.data(), &forged, sizeof forged);  // the critical noise
    EXPECT_NE(error_of([&] { decode_threshold(edited, options, wall); }).find("where a number belongs"), std::string::npos) << forged;
  }
  // Finite values no search can produce, in a record whose CRC is right (issue 25).
  const std::string real = encode_threshold(result, 1);
  for (const auto& [at, forged] : std::vector<std::pair<size_t, double>>{
           {0, 7.0}, {8, -0.5}, {16, 1e30}, {24, 2.5}, {32, -1.0}, {49, 1.5}, {65, -3.0}, {73, 1e9}}) {
    std::string edited = real;
    std::memcpy(edited.data() + at, &forged, sizeof forged);
    EXPECT_NE(error_of([&] { decode_threshold(edited, options, wall); }).find("a threshold result is impossible"),
              std::string::npos) << "byte " << at << " = " << forged;
  }
  std::string levels = real;
  const int32_t too_many = options.levels + 1;
  std::memcpy(levels.data() + 61, &too_many, sizeof too_many);  // the first probe's levels run
  EXPECT_NE(error_of([&] { decode_threshold(levels, options, wall); }).find("damaged"), std::string::npos);
  std::string flag = real;
  flag[40] = 2;  // never_reconstructed is 0 or 1
  EXPECT_NE(error_of([&] { decode_threshold(flag, options, wall); }).find("damaged"), std::string::npos);

  const std::string csv = threshold_csv({params}, options, {result});
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "v,n_classes,m,s,f,channel,noise_quantity,critical_noise,interval_low,interval_high,fixed_point_information,"
            "never_reconstructed,critical_time_linear,critical_time_cosine,probes,population,replicas,levels,tolerance,seed");
  const std::string row = fmt::format("8,8,2,2,0.25,uniform,epsilon,{},", result.critical_noise);
  EXPECT_EQ(csv.substr(csv.find('\n') + 1, row.size()), row);

  TheoryParams mask = params;
  mask.channel = Channel::mask;
  TheoryParams wide = params;
  wide.v = 16;  // f = 2/16, before v = 8's 0.25 on the axis
  TheoryParams denser = params;
  denser.m = 4;  // f = 0.5: on v = 8's line, after m = 2
  const FigureScript figure = phase_diagram_script({params, wide, mask, denser}, {result, result, result, result});
  const std::string& script = figure.text;
  // One line per (channel, v): v = 8's holds m = 2 and 4 in order of f; v = 16 is another line.
  const auto v8 = script.find("$threshold_uniform_v8_classes8_s2 << EOD\n0.25 ");
  ASSERT_NE(v8, std::string::npos) << script;
  EXPECT_NE(script.find("# m=2\n0.5 ", v8), std::string::npos) << script;
  EXPECT_NE(script.find("$threshold_uniform_v16_classes8_s2 << EOD\n0.125 "), std::string::npos) << script;
  EXPECT_NE(script.find("$threshold_mask_v8_classes8_s2 << EOD\n0.25 "), std::string::npos) << script;
  EXPECT_NE(script.find("title 'v = 16'"), std::string::npos) << script;
  EXPECT_EQ(figure.files, (std::vector<std::string>{"phase_diagram.png", "phase_diagram.svg", "phase_diagram.pdf"}));
  for (const auto& file : figure.files) EXPECT_NE(script.find("set output \"" + file + "\""), std::string::npos) << file;
  EXPECT_NE(script.find("critical noise ε*"), std::string::npos);
  EXPECT_NE(script.find("title " + gnuplot_quote("mask")), std::string::npos);
}

const char* kGrid = "--v 8,16 --classes 8 --m 2,3 --channel uniform,mask --threshold --population 2000 --replicas 4 "
                    "--levels 10 --tolerance 0.05 --threads 1";

TEST(ThresholdGridCommand, EveryModelsRowEqualsItsOwnRun) {
  const auto folder = fresh_folder("threshold-grid");
  const auto grid = run_hdiff(fmt::format("theory {} --out grid", kGrid), folder);
  ASSERT_EQ(grid.exit_code, 0) << grid.err;
  const std::string csv = read_text(folder / "grid/threshold.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 8);
  const auto all = nlohmann::json::parse(read_text(folder / "grid/threshold.json")).at("thresholds");
  ASSERT_EQ(all.size(), 8u);
  // Two models of the grid, run alone.
  for (const auto& [channel, v, m, index] : {std::tuple{"uniform", 16, 3, 3}, std::tuple{"mask", 8, 2, 4}}) {
    const auto one = run_hdiff(fmt::format("theory --v {} --classes 8 --m {} --channel {} --threshold --population 2000 "
                                           "--replicas 4 --levels 10 --tolerance 0.05 --out one{}", v, m, channel, index),
                               folder);
    ASSERT_EQ(one.exit_code, 0) << one.err;
    auto alone = nlohmann::json::parse(read_text(folder / fmt::format("one{}/threshold.json", index)));
    auto in_grid = all[static_cast<size_t>(index)];
    // A model alone lists itself in `thresholds`, as the grid does, and keeps its fields at the top.
    ASSERT_EQ(alone.at("thresholds").size(), 1u);
    auto listed = alone.at("thresholds")[0];
    alone.erase("thresholds");
    for (auto* record : {&alone, &in_grid, &listed}) record->erase("wall_seconds");
    EXPECT_EQ(alone, in_grid) << channel << " v=" << v << " m=" << m;
    EXPECT_EQ(listed, in_grid) << channel << " v=" << v << " m=" << m;
    const std::string one_csv = read_text(folder / fmt::format("one{}/threshold.csv", index));
    std::istringstream lines(csv);
    std::string line;
    for (int i = 0; i <= index + 1; ++i) std::getline(lines, line);
    EXPECT_EQ(one_csv.substr(one_csv.find('\n') + 1), line + "\n");
  }
  if (testing::gnuplot_installed())
    for (const char* format : kFigureFormats)
      EXPECT_TRUE(figure_file_complete(folder / "grid" / (std::string("phase_diagram.") + format))) << format;
  EXPECT_NE(grid.out.find("mask v=16 classes=8 m=3 s=2 (f = 0.1875): critical epsilon = "), std::string::npos) << grid.out;
  std::filesystem::remove_all(folder);
}

TEST(ThresholdGridCommand, ListsNeedThresholdAndAJournalIsResumed) {
  const auto folder = fresh_folder("threshold-grid-resume");
  auto result = run_hdiff("theory --v 8,16 --noise 0.1 --out never", folder);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("lists of --v, --classes, --m, --s or --channel are for --threshold"), std::string::npos)
      << result.err;
  result = run_hdiff("theory --v 8 --classes 8 --m 2,40 --threshold --out never", folder);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("1 of the 2 model combinations of the lists are invalid: [uniform v=8 classes=8 m=40 s=2]"),
            std::string::npos) << result.err;
  EXPECT_FALSE(std::filesystem::exists(folder / "never"));

  ASSERT_EQ(run_hdiff(fmt::format("theory {} --out plain", kGrid), folder).exit_code, 0);
  // The journal a killed run leaves after models 1 and 6.
  TheoryParams base = small_base();
  const ThresholdOptions options{10, 0.05};
  const auto grid = threshold_grid(base, {{Channel::uniform, Channel::mask}, {8, 16}, {8}, {2, 3}, {2}});
  std::filesystem::create_directories(staging_folder(folder / "resumed"));
  {
    auto journal = JournalWriter::create(staging_folder(folder / "resumed") / "journal", threshold_run_identity(grid, options));
    for (size_t index : {1, 6}) journal.append(static_cast<int64_t>(index), encode_threshold(find_threshold(grid[index], options), 0.5));
  }
  result = run_hdiff(fmt::format("theory {} --out resumed", kGrid), folder);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("resumed has an unfinished run (2 of 8 units done)"), std::string::npos) << result.err;
  result = run_hdiff(fmt::format("theory {} --out resumed --resume", kGrid), folder);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(read_text(folder / "resumed/threshold.csv"), read_text(folder / "plain/threshold.csv"));
  EXPECT_FALSE(std::filesystem::exists(staging_folder(folder / "resumed")));
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace hdiff
