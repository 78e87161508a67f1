// The control through the phase machinery (`[grammar] kind = "markov"`): token
// rows only, exact at zero noise, agreement and posterior mass estimate the same
// expectation, the same rows for any thread count and through the journal's
// encoding, and the config's kind key.

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "common/error.h"
#include "common/parallel.h"
#include "experiment/phase.h"
#include "experiment/phase_config.h"
#include "experiment/phase_units.h"
#include "experiment/markov_unit.h"

namespace hdiff {
namespace {

std::string markov_toml(const std::string& channel, const std::string& values, int seeds, int trajectories,
                        const std::string& extra = "") {
  return "[grammar]\nkind = \"markov\"\nv = 8\nclasses = 8\nm = 2\ns = 2\nL = [2, 4]\nseeds = " +
         std::to_string(seeds) + "\n[noise]\nchannel = \"" + channel + "\"\nvalues = " + values +
         "\n[run]\nsamples = 400\ntrajectories = " + std::to_string(trajectories) + "\nseed = 1\n" + extra;
}

TEST(MarkovUnit, RowsAreTheTokenLevelOnly) {
  const PhaseConfig config = parse_phase_config(markov_toml("uniform", "[0.0, 0.3, 1.0]", 2, 2), "test");
  EXPECT_EQ(config.kind, DataKind::markov);
  const PhaseResults results = run_phase(config);
  ASSERT_EQ(results.rows.size(), 2u * 3u);
  for (const auto& row : results.rows) {
    EXPECT_EQ(row.level, row.L);
    EXPECT_EQ(row.changes.by_lca.size(), static_cast<size_t>(row.L));
    EXPECT_EQ(row.kept.fraction, 1.0);  // no class: every trajectory counts as kept
    if (row.noise_index == 0) {
      EXPECT_EQ(row.agreement.mean, 1.0);
      EXPECT_NEAR(row.posterior_mass.mean, 1.0, 1e-12);
    } else {
      EXPECT_LT(row.agreement.mean, 1.0);
      EXPECT_TRUE(row.changes.susceptibility.has_value());
    }
  }
}

TEST(MarkovUnit, AgreementAndPosteriorMassAgreeWithinError) {
  // E[A] = E[M] for an exact posterior sample, as for the RHM.
  for (const char* channel : {"uniform", "mask", "soft", "gaussian"}) {
    const std::string values = std::string(channel) == "gaussian" ? "[0.2, 0.6]" : "[0.3, 0.7]";
    const PhaseConfig config = parse_phase_config(markov_toml(channel, values, 1, 1), "test");
    for (const auto& row : run_phase(config).rows) {
      const double tolerance = 4 * std::hypot(row.agreement.standard_error, row.posterior_mass.standard_error);
      EXPECT_NEAR(row.agreement.mean, row.posterior_mass.mean, tolerance) << channel << " L " << row.L;
      EXPECT_GT(row.agreement.standard_error, 0);
    }
  }
}

TEST(MarkovUnit, SameRowsForAnyThreadCountAndThroughTheJournal) {
  const PhaseConfig config = parse_phase_config(markov_toml("soft", "[0.5]", 3, 2), "test");
  set_thread_count(1);
  const PhaseResults one = run_phase(config);
  set_thread_count(2);
  const PhaseResults two = run_phase(config);
  set_thread_count(0);
  ASSERT_EQ(one.rows.size(), two.rows.size());
  for (size_t k = 0; k < one.rows.size(); ++k) {
    EXPECT_EQ(one.rows[k].agreement.mean, two.rows[k].agreement.mean);
    EXPECT_EQ(one.rows[k].posterior_mass.standard_error, two.rows[k].posterior_mass.standard_error);
    EXPECT_EQ(one.rows[k].changes.susceptibility->mean, two.rows[k].changes.susceptibility->mean);
  }
  // A unit's measures pass the checks the journal applies to what it reads back.
  for (const bool reduced : {false, true}) {
    PhaseConfig unit_config = config;
    if (!reduced) unit_config.grammar_seeds = {0};
    const UnitMeasures measures = run_phase_unit_measures(unit_config, {0, 4, 0, 0});
    const UnitMeasures decoded = decode_unit_measures(encode_unit_measures(measures), unit_config, 4);
    EXPECT_EQ(decoded.agreement, measures.agreement);
  }
}

TEST(MarkovUnit, ConfigKindIsCheckedAndRecorded) {
  EXPECT_EQ(parse_phase_config(markov_toml("soft", "[0.5]", 1, 1), "test").kind, DataKind::markov);
  std::string rhm = markov_toml("soft", "[0.5]", 1, 1);
  rhm.replace(rhm.find("markov"), 6, "rhm");
  const PhaseConfig rhm_config = parse_phase_config(rhm, "test");
  EXPECT_EQ(rhm_config.kind, DataKind::rhm);
  EXPECT_FALSE(phase_config_to_json(rhm_config)["grammar"].contains("kind"));  // RHM records unchanged
  EXPECT_EQ(phase_config_to_json(parse_phase_config(markov_toml("soft", "[0.5]", 1, 1), "test"))["grammar"]["kind"],
            "markov");
  std::string unknown = markov_toml("soft", "[0.5]", 1, 1);
  unknown.replace(unknown.find("markov"), 6, "ising");
  try {
    parse_phase_config(unknown, "test.toml");
    ADD_FAILURE() << "an unknown kind was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("grammar.kind"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_phase_config(markov_toml("soft", "[0.5]", 1, 1, "[report]\ntheory = true\n"), "test"), Error);
}

}  // namespace
}  // namespace hdiff
