// Presets: every one parses as a single-grammar config and runs; the list puts
// each name first on its line; an unknown name is an error listing the names.
// Where their class curves cross: interpolation, the steep crossing chosen.

#include "experiment/phase_presets.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "common/error.h"
#include "experiment/phase.h"
#include "experiment/phase_config.h"
#include "experiment/phase_report.h"
#include "experiment/phase_units.h"

namespace hdiff {
namespace {

TEST(PhasePresets, TheDefaultRunIsTheFirstPreset) {
  ASSERT_FALSE(phase_presets().empty());
  EXPECT_STREQ(phase_presets()[0].name, "pnas2025-rhm-soft");
  EXPECT_EQ(phase_presets()[0].config, kDefaultPhaseConfig);
}

TEST(PhasePresets, EachParsesAndCoversTheChannels) {
  std::set<std::string> names;
  std::set<Channel> channels;
  for (const auto& preset : phase_presets()) {
    EXPECT_TRUE(names.insert(preset.name).second) << preset.name << " twice";
    const auto grid = parse_phase_grid(preset.config, preset.name);
    ASSERT_EQ(grid.size(), 1u) << preset.name;
    channels.insert(grid[0].channel);
    EXPECT_GE(grid[0].trajectories, 2) << preset.name << ": chi over the trajectories of one x0";
    EXPECT_GE(grid[0].depths.size(), 3u) << preset.name;
    EXPECT_EQ(&find_phase_preset(preset.name), &preset);
  }
  EXPECT_EQ(channels, (std::set<Channel>{Channel::soft, Channel::mask, Channel::uniform, Channel::gaussian}));
  const auto mask = parse_phase_config(find_phase_preset("iclr2025-rhm-mask").config, "mask");
  EXPECT_EQ(mask.channel, Channel::mask);
}

TEST(PhasePresets, ListHasOneLinePerPresetNameFirst) {
  std::istringstream list(phase_preset_list());
  std::string line;
  size_t index = 0;
  while (std::getline(list, line)) {
    ASSERT_LT(index, phase_presets().size());
    std::istringstream words(line);
    std::string first;
    words >> first;
    EXPECT_EQ(first, phase_presets()[index].name);
    EXPECT_EQ(line.front(), first.front()) << "no leading blank";
    ++index;
  }
  EXPECT_EQ(index, phase_presets().size());
}

TEST(PhasePresets, UnknownNameListsTheNames) {
  try {
    find_phase_preset("pnas");
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("unknown preset 'pnas'"), std::string::npos) << message;
    for (const auto& preset : phase_presets()) EXPECT_NE(message.find(preset.name), std::string::npos) << message;
  }
}

TEST(PhasePresets, EachRunsWithFewerSamples) {
  // The same configs with 8 clean samples of one grammar: every unit runs and fills its rows.
  for (const auto& preset : phase_presets()) {
    PhaseConfig config = parse_phase_config(preset.config, preset.name);
    config.samples = 8;
    config.grammar_seeds = {config.grammar_seeds.front()};
    const PhaseResults results = run_phase(config);
    size_t rows = 0;
    for (int L : config.depths) rows += config.noise.size() * static_cast<size_t>(L + 1);
    EXPECT_EQ(results.rows.size(), rows) << preset.name;
  }
}

// Results holding only the class rows of two depths, with the given agreements.
PhaseResults class_rows(const std::vector<double>& shallow, const std::vector<double>& deep) {
  PhaseResults results;
  for (auto [L, values] : {std::pair{2, &shallow}, std::pair{3, &deep}})
    for (size_t k = 0; k < values->size(); ++k) {
      PhaseRow row;
      row.L = L;
      row.noise_index = k;
      row.agreement.mean = (*values)[k];
      results.rows.push_back(row);
    }
  return results;
}

PhaseConfig two_depths(const std::vector<double>& levels) {
  PhaseConfig config;
  config.depths = {2, 3};
  for (double level : levels) config.noise.push_back({level, std::nullopt});
  return config;
}

TEST(PhaseCrossings, InterpolatesWhereTheDeeperCurveFallsBelow) {
  // deep − shallow: +0.1 at 0.2, −0.1 at 0.3: they cross half-way.
  const auto config = two_depths({0.1, 0.2, 0.3, 0.4});
  const auto crossings = class_curve_crossings(config, class_rows({0.9, 0.6, 0.4, 0.2}, {0.95, 0.7, 0.3, 0.1}));
  ASSERT_EQ(crossings.size(), 1u);
  EXPECT_EQ(crossings[0].shallow_L, 2);
  EXPECT_EQ(crossings[0].deep_L, 3);
  EXPECT_NEAR(crossings[0].at, 0.25, 1e-12);
  const std::string line = class_crossing_summary(config, class_rows({0.9, 0.6, 0.4, 0.2}, {0.95, 0.7, 0.3, 0.1}));
  EXPECT_NE(line.find("noise = 0.2500 (L=2/3); mean 0.2500"), std::string::npos) << line;
}

TEST(PhaseCrossings, TakesTheSteepCrossingNotAFlipOfFlatCurves) {
  // Near chance the two curves are equal up to sampling noise and flip sign
  // (0.5–0.6 here); the transition is the steep change at 0.2–0.3, 0.1 to −0.2.
  const auto config = two_depths({0.1, 0.2, 0.3, 0.4, 0.5, 0.6});
  const auto crossings =
      class_curve_crossings(config, class_rows({0.9, 0.6, 0.4, 0.05, 0.031, 0.032}, {0.95, 0.7, 0.2, 0.05, 0.032, 0.031}));
  ASSERT_EQ(crossings.size(), 1u);
  EXPECT_NEAR(crossings[0].at, 0.2 + 0.1 * (0.1 / 0.3), 1e-12);
}

TEST(PhaseCrossings, CurvesEqualAtAGridPointCrossThere) {
  // Both agreements are means of counts over the same samples, so they can tie
  // exactly: −0.05, 0, +0.1 crosses at the tie.
  const auto config = two_depths({0.85, 0.86, 0.87, 0.88});
  const auto crossings = class_curve_crossings(config, class_rows({0.4, 0.48, 0.53, 0.64}, {0.35, 0.43, 0.53, 0.74}));
  ASSERT_EQ(crossings.size(), 1u);
  EXPECT_NEAR(crossings[0].at, 0.87, 1e-12);
  // Equal at both ends (noiseless and pure noise) is no crossing.
  EXPECT_TRUE(class_curve_crossings(config, class_rows({1, 0.6, 0.5, 0.03}, {1, 0.7, 0.6, 0.03})).empty());
}

TEST(PhaseCrossings, SortsTheNoiseAxisAndReportsCurvesThatNeverCross) {
  // Levels listed out of order give the crossing of the sorted axis.
  const auto config = two_depths({0.3, 0.1, 0.2});
  const auto crossings = class_curve_crossings(config, class_rows({0.4, 0.9, 0.6}, {0.3, 0.95, 0.7}));
  ASSERT_EQ(crossings.size(), 1u);
  EXPECT_NEAR(crossings[0].at, 0.25, 1e-12);
  const auto parallel = two_depths({0.1, 0.2});
  EXPECT_TRUE(class_curve_crossings(parallel, class_rows({0.9, 0.5}, {0.95, 0.6})).empty());
  EXPECT_EQ(class_crossing_summary(parallel, class_rows({0.9, 0.5}, {0.95, 0.6})),
            "the class curves of different L do not cross on this noise grid\n");
}

}  // namespace
}  // namespace hdiff
