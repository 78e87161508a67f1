// Phase configs: the default parses; every missing, mistyped or out-of-range key
// is an error naming the file, line and key.

#include "experiment/phase_config.h"

#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "common/error.h"

namespace hdiff {
namespace {

const std::string kValid = R"([grammar]
v = 8
classes = 4
m = 2
s = 2
L = [2, 3]
seeds = 2
[noise]
channel = "mask"
values = [0.1, 0.5]
[run]
samples = 10
seed = 1
)";

std::string error_of(const std::string& text) {
  try {
    parse_phase_config(text, "c.toml");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(PhaseConfig, DefaultIsThePaperSetting) {
  const auto config = parse_phase_config(kDefaultPhaseConfig, "default");
  EXPECT_EQ(config.v, 32);
  EXPECT_EQ(config.n_classes, 32);
  EXPECT_EQ(config.m, 8);
  EXPECT_EQ(config.s, 2);
  EXPECT_EQ(config.depths, (std::vector<int>{3, 4, 5, 6, 7}));
  EXPECT_EQ(config.noise.size(), 21u);
  EXPECT_EQ(config.noise.front().level, 0.0);
  EXPECT_EQ(config.noise.back().level, 1.0);
  // The papers' epsilon-process, with chi taken over trajectories of one x0 (issue 26).
  EXPECT_EQ(config.channel, Channel::soft);
  EXPECT_GE(config.trajectories, 2);
  EXPECT_TRUE(config.report_theory);
  // The grid is finest (0.01) around the mean-field epsilon* = 0.731.
  int near_threshold = 0;
  for (const auto& point : config.noise) near_threshold += std::abs(point.level - 0.731) <= 0.03;
  EXPECT_GE(near_threshold, 5);
}

TEST(PhaseConfig, ReportSectionIsOptionalAndChecked) {
  EXPECT_FALSE(parse_phase_config(kValid, "c.toml").report_theory);
  EXPECT_TRUE(parse_phase_config(kValid + "[report]\ntheory = true\n", "c.toml").report_theory);
  EXPECT_FALSE(parse_phase_config(kValid + "[report]\n", "c.toml").report_theory);
  EXPECT_TRUE(std::regex_search(error_of(kValid + "[report]\ntheory = 1\n"),
                                std::regex("c\\.toml:15: report\\.theory must be true or false")))
      << error_of(kValid + "[report]\ntheory = 1\n");
  EXPECT_TRUE(std::regex_search(error_of(kValid + "[report]\nplots = true\n"), std::regex("unknown key 'report\\.plots'")))
      << error_of(kValid + "[report]\nplots = true\n");
  EXPECT_TRUE(std::regex_search(error_of("report = 3\n" + kValid), std::regex("'report' must be a section")))
      << error_of("report = 3\n" + kValid);
}

// [run] precision, [changes] window and [information] samples: optional, checked, in run.json.
TEST(PhaseConfig, PrecisionWindowAndInformationSamples) {
  const PhaseConfig plain = parse_phase_config(kValid, "c.toml");
  EXPECT_EQ(plain.precision, Precision::float32);
  EXPECT_EQ(plain.change_window, 10);
  EXPECT_EQ(plain.information_samples, 50);
  EXPECT_EQ(information_sample_count(plain), 10) << "at most the run's samples";
  const PhaseConfig set = parse_phase_config(replace(kValid, "seed = 1\n", "seed = 1\nprecision = \"double\"\n") +
                                                 "[changes]\nwindow = 3\n[information]\nsamples = 4\n",
                                             "c.toml");
  EXPECT_EQ(set.precision, Precision::float64);
  EXPECT_EQ(set.change_window, 3);
  EXPECT_EQ(information_sample_count(set), 4);
  const auto json = phase_config_to_json(set);
  EXPECT_EQ(json.at("run").at("precision"), "double");
  EXPECT_EQ(json.at("changes").at("window"), 3);
  EXPECT_EQ(json.at("information").at("samples"), 4);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {replace(kValid, "seed = 1\n", "seed = 1\nprecision = \"half\"\n"),
       "c.toml:14: run.precision: unknown precision 'half'"},
      {replace(kValid, "seed = 1\n", "seed = 1\nprecision = 2\n"), "c.toml:14: run.precision must be a string"},
      {kValid + "[changes]\nwindow = 0\n", "c.toml:15: changes.window = 0 is out of range"},
      {kValid + "[changes]\nwindow = 1.5\n", "changes.window must be an integer"},
      {kValid + "[changes]\nreach = 2\n", "unknown key 'changes.reach'"},
      {kValid + "[information]\nsamples = 0\n", "information.samples = 0 is out of range"},
      {kValid + "[information]\nlevels = 2\n", "unknown key 'information.levels'"},
  };
  for (const auto& [text, expected] : bad)
    EXPECT_NE(error_of(text).find(expected), std::string::npos) << error_of(text);
}

TEST(PhaseConfig, ParsesValuesAndSchedules) {
  const auto config = parse_phase_config(kValid, "c.toml");
  EXPECT_EQ(config.grammar_seeds, (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(config.channel, Channel::mask);
  const auto timed = parse_phase_config(
      replace(kValid, "values = [0.1, 0.5]", "schedule = \"cosine\"\ntimes = [0, 500, 1000]"), "c.toml");
  ASSERT_EQ(timed.noise.size(), 3u);
  EXPECT_EQ(timed.noise[0].level, 0.0);
  EXPECT_EQ(*timed.noise[1].time, 500.0);
  EXPECT_NEAR(timed.noise[2].level, 1.0, 1e-3);
  const auto listed = parse_phase_config(replace(kValid, "seeds = 2", "seeds = [5, 9]"), "c.toml");
  EXPECT_EQ(listed.grammar_seeds, (std::vector<uint64_t>{5, 9}));
  const auto soft = parse_phase_config(replace(kValid, "\"mask\"", "\"soft\""), "c.toml");
  EXPECT_EQ(soft.channel, Channel::soft);
  EXPECT_EQ(soft.noise[1].level, 0.5);
}

TEST(PhaseConfig, ErrorsNameFileLineAndKey) {
  struct Bad {
    std::string from, to, message;
  };
  const std::vector<Bad> cases = {
      {"v = 8", "v = \"eight\"", "c.toml:2: grammar.v must be an integer, found a string"},
      {"v = 8", "v = 1", "c.toml:2: grammar.v = 1 is out of range"},
      {"v = 8\n", "", "missing key grammar.v"},
      {"m = 2", "m = 2.5", "c.toml:4: grammar.m must be an integer"},
      {"m = 2", "m = 40", "exceed the v^s"},
      {"s = 2", "s = 1", "c.toml:5: grammar.s = 1 is out of range"},
      {"L = [2, 3]", "L = [2, \"x\"]", "c.toml:6: grammar.L must be a list of integers"},
      {"L = [2, 3]", "L = [0]", "grammar.L holds 0, out of range"},
      {"L = [2, 3]", "L = [2, 2]", "lists a depth twice"},
      {"seeds = 2", "seeds = 0", "c.toml:7: grammar.seeds = 0 is out of range"},
      {"channel = \"mask\"", "channel = \"salt\"", "c.toml:9: unknown noise channel \"salt\""},
      {"channel = \"mask\"\n", "", "missing key noise.channel"},
      {"values = [0.1, 0.5]", "values = [0.1, 1.5]", "c.toml:10: noise.values: noise level epsilon = 1.5 is outside [0, 1]"},
      {"values = [0.1, 0.5]", "values = []", "noise.values is empty"},
      {"values = [0.1, 0.5]", "values = 0.3", "must be a list of numbers"},
      {"values = [0.1, 0.5]", "times = [3]", "noise.times needs noise.schedule"},
      {"values = [0.1, 0.5]", "schedule = \"linear\"\ntimes = [2.5]", "not an integer step"},
      {"values = [0.1, 0.5]", "schedule = \"square\"\ntimes = [2]", "unknown schedule \"square\""},
      {"samples = 10", "samples = 0", "c.toml:12: run.samples = 0 is out of range"},
      {"samples = 10", "samples = \"many\"", "run.samples must be an integer"},
      {"seed = 1", "seed = 1\nthreads = 4", "c.toml:14: unknown key 'run.threads'"},
      {"[run]", "[runn]", "unknown key 'runn'"},
      {"v = 8", "v = 8 8", "not valid TOML"},
  };
  for (const auto& c : cases) {
    const std::string message = error_of(replace(kValid, c.from, c.to));
    EXPECT_NE(message.find(c.message), std::string::npos) << "for " << c.to << ": got " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
  }
  const std::string gaussian = replace(replace(kValid, "channel = \"mask\"", "channel = \"gaussian\""),
                                      "values = [0.1, 0.5]", "values = [0.1, 1.0]");
  EXPECT_NE(error_of(gaussian).find("alpha-bar = 1 is noiseless"), std::string::npos) << error_of(gaussian);
}

}  // namespace
}  // namespace hdiff

namespace hdiff {
namespace {

TEST(PhaseGrid, ListsOfVClassesMAndSGiveEveryCombination) {
  const auto grid = parse_phase_grid(replace(replace(kValid, "v = 8", "v = [8, 16]"), "m = 2", "m = [2, 3, 4]"), "c.toml");
  ASSERT_EQ(grid.size(), 6u);
  std::vector<std::pair<int, int>> combinations;
  for (const auto& config : grid) {
    combinations.emplace_back(config.v, config.m);
    EXPECT_EQ(config.n_classes, 4);
    EXPECT_EQ(config.s, 2);
    EXPECT_EQ(config.depths, (std::vector<int>{2, 3}));
    EXPECT_EQ(config.channel, Channel::mask);
  }
  EXPECT_EQ(combinations, (std::vector<std::pair<int, int>>{{8, 2}, {8, 3}, {8, 4}, {16, 2}, {16, 3}, {16, 4}}))
      << "v outermost, s innermost";
  // A single value, written as a one-element list, is the plain config.
  const auto one = parse_phase_grid(replace(kValid, "s = 2", "s = [2]"), "c.toml");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(phase_config_to_json(one[0]), phase_config_to_json(parse_phase_config(kValid, "c.toml")));
  // The one-grammar entry point (the Python module's) refuses a grid.
  EXPECT_NE(error_of(replace(kValid, "v = 8", "v = [8, 16]")).find("the grammar lists give 2 combinations"), std::string::npos);
}

TEST(PhaseGrid, InvalidCombinationsAreListedInOneError) {
  // v = 2, s = 2 has 4 tuples: a level of v = 2 symbols takes 2·m of them, so m = 3 does not fit.
  const std::string text = replace(replace(replace(kValid, "v = 8", "v = [2, 8]"), "m = 2", "m = [1, 3]"), "classes = 4", "classes = [2, 4]");
  const std::string message = [&] {
    try {
      parse_phase_grid(text, "c.toml");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  }();
  EXPECT_EQ(message.find("c.toml: 2 of the 8 grammar combinations of the lists are invalid: [v=2 classes=2 m=3 s=2] "), 0u)
      << message;
  EXPECT_NE(message.find("; [v=2 classes=4 m=3 s=2] "), std::string::npos) << message;
  EXPECT_EQ(message.find("v=8"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one line";
  EXPECT_NE(message.find("remove those values or split the grid"), std::string::npos);
  EXPECT_NE(error_of(replace(kValid, "m = 2", "m = [2, 2]")).find("c.toml:4: grammar.m lists a value twice"), std::string::npos);
  EXPECT_NE(error_of(replace(kValid, "m = 2", "m = []")).find("grammar.m is an empty list"), std::string::npos);
  EXPECT_NE(error_of(replace(kValid, "m = 2", "m = [2, \"x\"]")).find("grammar.m must list integers, found a string"),
            std::string::npos);
  EXPECT_NE(error_of(replace(kValid, "s = 2", "s = [2, 40]")).find("grammar.s holds 40, out of range"), std::string::npos);
}

}  // namespace
}  // namespace hdiff

namespace hdiff {
namespace {

TEST(PhaseGrid, HugeGridsAreRefusedBeforeAnythingIsAllocated) {
  std::string list = "[";
  for (int value = 2; value < 200; ++value) list += std::to_string(value) + (value < 199 ? ", " : "]");
  // 198 × 198 × 198 combinations: refused by their count, not by running out of memory.
  const std::string text = replace(replace(replace(kValid, "v = 8", "v = " + list), "classes = 4", "classes = " + list),
                                   "m = 2", "m = " + list);
  EXPECT_NE(error_of(text).find("(no error)"), 0u);
  std::string message;
  try {
    parse_phase_grid(text, "c.toml");
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_EQ(message, "c.toml: the lists of v, classes, m and s give 7762392 grammar combinations, more than the 10000 one "
                     "run takes; split the grid into several configs");
}

}  // namespace
}  // namespace hdiff
