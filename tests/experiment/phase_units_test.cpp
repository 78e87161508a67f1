// The phase experiment as work units: their list and costs, the exact transport
// of their measures, and the reduced form of several-grammar units, whose rows
// must equal summarise()'s on the full measures bit for bit.

#include "experiment/phase_units.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>

#include "common/memory.h"
#include "experiment/phase_report.h"
#include "support/helpers.h"

namespace hdiff {
namespace {

using testing::error_of;

PhaseConfig small(Channel channel, int trajectories, std::vector<uint64_t> seeds) {
  PhaseConfig config;
  config.v = 8;
  config.n_classes = 4;
  config.m = 2;
  config.s = 2;
  config.depths = {2, 4};
  config.grammar_seeds = std::move(seeds);
  config.channel = channel;
  config.noise = {{0.0, std::nullopt}, {0.35, std::nullopt}};
  config.samples = 60;
  config.trajectories = trajectories;
  config.seed = 9;
  return config;
}

// Every table of the results, as text: what the files hold.
std::string tables(const PhaseConfig& config, const std::vector<PhaseRow>& rows) {
  PhaseResults results{rows, false};
  return phase_csv(config, results) + conditional_csv(config, results) + changes_csv(config, results) +
         correlations_csv(config, results) + information_csv(config, results);
}

TEST(PhaseUnits, ListInRunOrderWithCostsGrowingWithTheTree) {
  const std::vector<PhaseConfig> grid = {small(Channel::uniform, 1, {0, 1, 2}), small(Channel::uniform, 1, {4})};
  const auto units = phase_units(grid);
  ASSERT_EQ(units.size(), 2u * 2 * 3 + 2u * 2 * 1);
  EXPECT_EQ(units[0].L, 2);
  EXPECT_EQ(units[2].seed_index, 2u);
  EXPECT_EQ(units[3].noise_index, 1u);
  EXPECT_EQ(units[6].L, 4);
  EXPECT_EQ(units[12].grid_point, 1u);
  EXPECT_GT(phase_unit_cost(grid[0], units[6]), 4 * phase_unit_cost(grid[0], units[0]));
}

TEST(PhaseUnits, SideBySideWhenEveryThreadGetsSeveralAndTheyFitInMemory) {
  const std::vector<PhaseConfig> grid = {small(Channel::uniform, 1, {0, 1, 2})};
  const size_t units = phase_units(grid).size();  // 12
  EXPECT_TRUE(run_units_side_by_side(grid, units, 1, 2));
  EXPECT_TRUE(run_units_side_by_side(grid, units, 1, 3));
  EXPECT_FALSE(run_units_side_by_side(grid, units, 1, 1)) << "one thread: nothing to share";
  EXPECT_FALSE(run_units_side_by_side(grid, units, 1, 4)) << "fewer than four units per thread";
  EXPECT_FALSE(run_units_side_by_side(grid, units, 2, 2)) << "fewer than four units per thread of each rank";
  // Units that two threads could not hold at once in half the free memory.
  std::vector<PhaseConfig> huge = grid;
  huge[0].samples = static_cast<int64_t>(available_memory_bytes() / 8);
  EXPECT_FALSE(run_units_side_by_side(huge, units, 1, 2));
}

TEST(PhaseUnits, ReducedUnitsGiveTheRowsOfTheFullOnesBitForBit) {
  for (Channel channel : {Channel::uniform, Channel::mask})
    for (int trajectories : {1, 3}) {
      const PhaseConfig config = small(channel, trajectories, {0, 5, 7});
      ASSERT_TRUE(travels_reduced(config));
      for (int L : config.depths)
        for (size_t k = 0; k < config.noise.size(); ++k) {
          std::vector<UnitMeasures> full, reduced, travelled;
          for (uint64_t seed : config.grammar_seeds) {
            full.push_back(run_phase_unit(config, L, seed, k));
            reduced.push_back(reduce_unit_measures(full.back(), config.samples, L));
            travelled.push_back(decode_unit_measures(encode_unit_measures(reduced.back()), config, L));
          }
          const std::string expected =
              tables(config, summarise(L, k, full, config.samples, trajectories, information_sample_count(config)));
          EXPECT_EQ(tables(config, summarise_reduced(L, k, reduced, config.samples, trajectories,
                                                     information_sample_count(config))),
                    expected)
              << channel_name(channel) << " T=" << trajectories << " L=" << L << " noise " << k;
          EXPECT_EQ(tables(config, summarise_reduced(L, k, travelled, config.samples, trajectories,
                                                     information_sample_count(config))),
                    expected);
          // The reduced form is independent of the number of samples.
          EXPECT_LT(encode_unit_measures(reduced[0]).size(), encode_unit_measures(full[0]).size() / 10);
        }
    }
}

TEST(PhaseUnits, FullMeasuresTravelExactlyAndDamageIsAnError) {
  const PhaseConfig config = small(Channel::uniform, 2, {3});
  ASSERT_FALSE(travels_reduced(config));
  const UnitMeasures measures = run_phase_unit(config, 4, 3, 1);
  const std::string bytes = encode_unit_measures(measures);
  const UnitMeasures back = decode_unit_measures(bytes, config, 4);
  EXPECT_EQ(tables(config, summarise(4, 1, {back}, config.samples, 2, information_sample_count(config))),
            tables(config, summarise(4, 1, {measures}, config.samples, 2, information_sample_count(config))));
  EXPECT_EQ(encode_unit_measures(back), bytes);
  EXPECT_NE(error_of([&] { decode_unit_measures(bytes.substr(0, bytes.size() / 2), config, 4); }).find("phase unit"),
            std::string::npos);
  EXPECT_NE(error_of([&] { decode_unit_measures(bytes + "x", config, 4); }).find("trailing"), std::string::npos);
  EXPECT_NE(error_of([&] { decode_unit_measures(bytes, config, 3); }).find("phase unit"), std::string::npos)
      << "a unit of another depth";
  std::string huge = bytes;
  huge[8] = '\xff';  // the first length, after the format tag
  EXPECT_NE(error_of([&] { decode_unit_measures(huge, config, 4); }).find("impossible size"), std::string::npos);
  // A record whose CRC was recomputed after an edit (found in review: NaN and inf reached results.csv).
  for (const double forged : {std::nan(""), HUGE_VAL, -HUGE_VAL, 1e300}) {
    std::string edited = bytes;
    std::memcpy(edited.data() + 16, &forged, sizeof forged);  // the first agreement value
    EXPECT_NE(error_of([&] { decode_unit_measures(edited, config, 4); }).find("where a measure belongs"), std::string::npos)
        << forged;
  }
}

// A unit written by an hdiff before the information measures (format 1: no
// tag, the agreements' length first) is refused by name, never misread.
TEST(PhaseUnits, UnitsOfTheEarlierFormatAreRefusedByName) {
  const PhaseConfig config = small(Channel::uniform, 2, {3});
  const std::string bytes = encode_unit_measures(run_phase_unit(config, 2, 3, 1));
  const std::string earlier = bytes.substr(8);  // format 1 began with the agreements
  EXPECT_NE(error_of([&] { decode_unit_measures(earlier, config, 2); }).find("not in this hdiff's format 2"),
            std::string::npos);
  // And the run's identity names the format, so a journal of format-1 units belongs to another run.
  EXPECT_NE(phase_run_identity({config}).find("\"measures_format\":2"), std::string::npos);
}

// Values no unit can produce, in records whose CRC is right (issue 25): they
// put inf and NaN into conditional.csv, and a count of 1e30 became a negative
// trajectory count. Each is refused, full and reduced alike.
TEST(PhaseUnits, ValuesNoUnitCanProduceAreRefused) {
  for (const std::vector<uint64_t>& seeds : {std::vector<uint64_t>{3}, std::vector<uint64_t>{0, 5}}) {
    // What real units hold is accepted, on every channel and at every noise level.
    for (Channel channel : {Channel::uniform, Channel::mask, Channel::gaussian})
      for (size_t k = 0; k < 2; ++k) {
        const PhaseConfig config = small(channel, 3, seeds);
        const std::string bytes = encode_unit_measures(run_phase_unit_measures(config, {0, 4, k, 0}));
        EXPECT_EQ(error_of([&] { decode_unit_measures(bytes, config, 4); }), "(no error)") << channel_name(channel);
      }
    const PhaseConfig config = small(Channel::uniform, 3, seeds);
    const UnitMeasures real = run_phase_unit_measures(config, {0, 4, 1, 0});
    const std::vector<std::function<void(UnitMeasures&)>> forgeries = {
        [](UnitMeasures& m) { m.agreement[0] = 7e6; },
        [](UnitMeasures& m) { m.mass[1] = -0.5; },
        [](UnitMeasures& m) { m.kept[0].count[0] = 1e30; },
        [](UnitMeasures& m) { m.kept[2].count[0] += 0.5; },
        [](UnitMeasures& m) { m.changed[1].count[0] += 1; },  // kept + changed is not the trajectories
        [](UnitMeasures& m) {                                 // the class outcome differs between levels
          m.kept[1].count[0] += 1;
          m.changed[1].count[0] -= 1;
        },
        [](UnitMeasures& m) { m.kept[1].agreement_sum[0] = m.kept[1].count[0] + 1; },
        [](UnitMeasures& m) { m.changes[2].changed_fraction = 1.5; },
        [](UnitMeasures& m) {  // χ = total / diagonal would overflow
          m.changes[2].diagonal[0] = 1e-300;
          m.changes[2].total[0] = 1;
        },
        [](UnitMeasures& m) { m.changes[2].total[0] = 1e20; },
        [](UnitMeasures& m) { m.changes[2].by_lca[0][0] = 3; },
        [](UnitMeasures& m) { m.changes[2].by_lca.pop_back(); },  // summaries index every grammar's C(k)
        [](UnitMeasures& m) { m.entropy[0] = -0.1; },
        [](UnitMeasures& m) { m.entropy[1] = 1e6; },  // above log v (× the samples when reduced)
        [](UnitMeasures& m) { m.same_symbol[2] = 1e6; },
        [](UnitMeasures& m) { m.cross_entropy[0] = -1; },
        [](UnitMeasures& m) { m.prior_entropy[1] = 9; },  // above log 8
        [](UnitMeasures& m) { m.prior_entropy.pop_back(); },
        [](UnitMeasures& m) { m.changes[2].window[0] = 1e3; },  // beyond 2·(2R + 1)
        [](UnitMeasures& m) { m.changes[2].window.pop_back(); },
        [](UnitMeasures& m) {  // no change terms where a covariance exists
          m.changes[2].total.clear();
          m.changes[2].diagonal.clear();
          for (auto& values : m.changes[2].by_lca) values.clear();
        },
    };
    for (size_t k = 0; k < forgeries.size(); ++k) {
      UnitMeasures forged = real;
      forgeries[k](forged);
      EXPECT_NE(error_of([&] { decode_unit_measures(encode_unit_measures(forged), config, 4); }).find("phase unit's result"),
                std::string::npos)
          << "forgery " << k << " of " << seeds.size() << " seeds";
    }
  }
}

// One sample, one trajectory and several grammar seeds: units without change
// terms travel (the empty vectors passed a null pointer to memcpy, found by the
// sanitizer build), and the command's rows are those of the in-process run.
TEST(PhaseUnits, UnitsWithoutChangeTermsTravel) {
  PhaseConfig config = small(Channel::uniform, 1, {0, 5});
  config.samples = 1;
  for (int L : config.depths) {
    std::vector<UnitMeasures> reduced, travelled;
    for (size_t seed = 0; seed < config.grammar_seeds.size(); ++seed) {
      reduced.push_back(run_phase_unit_measures(config, {0, L, 1, seed}));
      ASSERT_TRUE(reduced.back().changes.back().total.empty());
      travelled.push_back(decode_unit_measures(encode_unit_measures(reduced.back()), config, L));
    }
    EXPECT_EQ(tables(config, summarise_reduced(L, 1, travelled, 1, 1, 1)),
              tables(config, summarise_reduced(L, 1, reduced, 1, 1, 1)));
  }
}

}  // namespace
}  // namespace hdiff
