// The phase experiment: its two measures agree, the transition has the expected
// shape, and results do not depend on the thread count.

#include "experiment/phase.h"

#include <gtest/gtest.h>

#include <cmath>

#include <fmt/format.h>

#include "common/parallel.h"
#include "experiment/phase_report.h"
#include "experiment/phase_units.h"
#include "grammar/sampling.h"
#include "support/enumeration.h"

namespace hdiff {
namespace {

PhaseConfig small_config(Channel channel, std::vector<double> levels) {
  PhaseConfig config;
  config.v = 8;
  config.n_classes = 8;
  config.m = 2;
  config.s = 2;
  config.depths = {3};
  config.grammar_seeds = {0, 1, 2};
  config.channel = channel;
  for (double level : levels) config.noise.push_back({level, std::nullopt});
  config.samples = 1500;
  config.seed = 4;
  return config;
}

TEST(Phase, AgreementAndPosteriorMassAgreeWithinError) {
  // Both estimate the same expectation: E[A_ℓ] = E[M_ℓ] for an exact posterior sample.
  const std::vector<std::pair<Channel, std::vector<double>>> grids = {
      {Channel::uniform, {0.2, 0.5}}, {Channel::mask, {0.3, 0.7}}, {Channel::gaussian, {0.1, 0.4}}};
  for (const auto& [channel, levels] : grids) {
    auto config = small_config(channel, levels);
    config.grammar_seeds = {0};  // one grammar: errors over samples, where both measures are unbiased
    const auto results = run_phase(config);
    ASSERT_EQ(results.rows.size(), levels.size() * 4);
    for (const auto& row : results.rows) {
      const double tolerance = 4 * std::hypot(row.agreement.standard_error, row.posterior_mass.standard_error);
      EXPECT_NEAR(row.agreement.mean, row.posterior_mass.mean, tolerance)
          << channel_name(channel) << " noise " << levels[row.noise_index] << " level " << row.level;
      EXPECT_GT(row.agreement.standard_error, 0);
    }
  }
}

TEST(Phase, ClassCurvesCrossAndLowLevelsSurviveLonger) {
  // The paper's grammar at L = 2 and 5 under the uniform channel, low and high noise.
  PhaseConfig config = parse_phase_config(kDefaultPhaseConfig, "default");
  config.channel = Channel::uniform;
  config.trajectories = 1;
  config.depths = {2, 5};
  config.grammar_seeds = {0, 1};
  config.noise = {{0.05, std::nullopt}, {0.4, std::nullopt}};
  config.samples = 600;
  const auto results = run_phase(config);
  auto agreement = [&](int L, size_t noise, int level) {
    for (const auto& row : results.rows)
      if (row.L == L && row.noise_index == noise && row.level == level) return row.agreement;
    ADD_FAILURE() << "missing row";
    return Estimate{};
  };
  auto clearly_above = [](Estimate a, Estimate b) { return a.mean - b.mean > 3 * std::hypot(a.standard_error, b.standard_error); };
  EXPECT_TRUE(clearly_above(agreement(5, 0, 0), agreement(2, 0, 0))) << "low noise: deeper trees keep the class better";
  EXPECT_TRUE(clearly_above(agreement(2, 1, 0), agreement(5, 1, 0))) << "high noise: deeper trees lose the class";
  for (int level = 0; level < 5; ++level)
    EXPECT_LT(agreement(5, 1, level).mean, agreement(5, 1, level + 1).mean) << "level " << level;
}

TEST(Phase, SoftClassCurvesOfDepthsFourAndEightCrossNearTheMeanFieldThreshold) {
  // The papers' setting under their ε-process: exact BP's class curves cross near
  // ε ≈ 0.73 (mean field: 0.731), far above the uniform channel's 0.16.
  PhaseConfig config = parse_phase_config(kDefaultPhaseConfig, "default");
  ASSERT_EQ(config.channel, Channel::soft) << "the default run is the papers' epsilon-process";
  config.trajectories = 1;
  config.depths = {4, 8};
  config.grammar_seeds = {0, 1, 2, 3};
  config.noise.clear();
  const std::vector<double> grid = {0.64, 0.68, 0.72, 0.76, 0.80};
  for (double level : grid) config.noise.push_back({level, std::nullopt});
  config.samples = 400;
  const auto results = run_phase(config);
  // Where the deep curve falls below the shallow one, by linear interpolation.
  auto crossing = [&](auto measure) {
    std::vector<double> difference(grid.size());
    for (const auto& row : results.rows)
      if (row.level == 0) difference[row.noise_index] += (row.L == 8 ? 1 : -1) * measure(row).mean;
    EXPECT_GT(difference.front(), 0) << "the grid starts above the crossing";
    EXPECT_LT(difference.back(), 0) << "the grid ends below the crossing";
    for (size_t i = 0; i + 1 < grid.size(); ++i)
      if (difference[i] > 0 && difference[i + 1] <= 0)
        return grid[i] + (grid[i + 1] - grid[i]) * difference[i] / (difference[i] - difference[i + 1]);
    return std::nan("");
  };
  for (const auto& [name, at] : {std::pair<std::string, double>{"posterior mass", crossing([](const PhaseRow& r) { return r.posterior_mass; })},
                                 std::pair<std::string, double>{"agreement", crossing([](const PhaseRow& r) { return r.agreement; })}}) {
    EXPECT_GE(at, 0.70) << name;
    EXPECT_LE(at, 0.77) << name;
    ::testing::Test::RecordProperty(name + " crossing", std::to_string(at));
  }
}

// The double path measures the same x_t as the float path: posterior masses and
// information to float32's 1e-5, and the same class outcome almost everywhere.
TEST(Phase, DoublePrecisionMeasuresTheSameObservations) {
  for (const Channel channel : {Channel::uniform, Channel::soft, Channel::gaussian}) {
    PhaseConfig config = small_config(channel, {channel == Channel::gaussian ? 0.3 : 0.5});
    config.samples = 100;
    config.trajectories = 2;
    config.information_samples = 100;
    const UnitMeasures single = run_phase_unit(config, 3, 0, 0);
    config.precision = Precision::float64;
    const UnitMeasures exact = run_phase_unit(config, 3, 0, 0);
    ASSERT_EQ(single.mass.size(), exact.mass.size());
    for (size_t k = 0; k < exact.mass.size(); ++k) {
      EXPECT_NEAR(single.mass[k], exact.mass[k], 1e-5) << channel_name(channel) << " " << k;
      EXPECT_NEAR(single.entropy[k], exact.entropy[k], 2e-5) << channel_name(channel) << " " << k;
      EXPECT_NEAR(single.same_symbol[k], exact.same_symbol[k], 1e-5) << channel_name(channel) << " " << k;
    }
    double same = 0;
    for (size_t k = 0; k < exact.agreement.size(); ++k) same += single.agreement[k] == exact.agreement[k];
    EXPECT_GT(same, 0.95 * static_cast<double>(exact.agreement.size())) << channel_name(channel);
  }
}

// 9 units: two threads run them side by side, three share each unit's batches.
// Every table, information.csv and the windowed and raw χ included, on both
// precisions; the information of 40 samples (3 batches, not a multiple of 16).
TEST(Phase, CsvIsIdenticalForAnyThreadCount) {
  for (const Precision precision : {Precision::float32, Precision::float64})
    for (const Channel channel : {Channel::uniform, Channel::soft}) {
      auto config = small_config(channel, {0.1, 0.35, 0.6});
      config.samples = 200;
      config.trajectories = 2;
      config.precision = precision;
      config.information_samples = 40;
      auto tables = [&](int threads) {
        set_thread_count(threads);
        const auto results = run_phase(config);
        return std::vector<std::string>{phase_csv(config, results), conditional_csv(config, results),
                                        changes_csv(config, results), correlations_csv(config, results),
                                        information_csv(config, results)};
      };
      const auto ones = tables(1);
      const auto twos = tables(2);
      const auto threes = tables(3);
      set_thread_count(0);
      const std::string what = std::string(channel_name(channel)) + " " + precision_name(precision);
      EXPECT_EQ(ones, twos) << what;
      EXPECT_EQ(ones, threes) << what;
      EXPECT_NE(
          ones[2].find(",susceptibility_raw,susceptibility_raw_se,susceptibility_window,susceptibility_window_se"),
          std::string::npos);
      EXPECT_EQ(std::count(ones[4].begin(), ones[4].end(), '\n'), 1 + 3 * 4) << what;
      const std::string information_rows = ones[4].substr(ones[4].find('\n'));
      for (const char* undefined : {"nan", "inf"})
        EXPECT_EQ(information_rows.find(undefined), std::string::npos) << what;
      const std::string& one = ones[0];
      EXPECT_EQ(one.substr(0, one.find('\n')), kPhaseCsvHeader);
      EXPECT_EQ(std::count(one.begin(), one.end(), '\n'), 1 + 3 * 4);
    }
}

// The exact class-outcome fractions and conditional agreements of one noise point,
// from the joint law of (x_0, x_t, x̂_0) by enumeration: every clean tree, every
// observation, every posterior tree.
struct ExactOutcomes {
  double kept = 0;                         // P(ẑ_0 = z_0)
  std::vector<double> agreement_if_kept;   // per level
  std::vector<double> agreement_if_changed;
};

ExactOutcomes enumerate_outcomes(const Grammar& grammar, const NoiseSpec& noise) {
  const auto& p = grammar.params;
  const auto trees = testing::all_trees(grammar);
  const int64_t d = sequence_length(p);
  const int64_t leaf_begin = level_offset(p, p.L);
  const double tree_prior = 1.0 / static_cast<double>(trees.size());  // every derivation is equally likely
  const int alphabet = noise.channel == Channel::mask ? p.v + 1 : p.v;
  // p(o_i | x_i = a) of the forward process.
  auto channel = [&](uint32_t o, uint32_t a) {
    if (noise.channel == Channel::mask) return o == mask_token(p.v) ? noise.level : (o == a ? 1 - noise.level : 0.0);
    return (o == a ? 1 - noise.level : 0.0) + noise.level / p.v;
  };
  ExactOutcomes exact;
  exact.agreement_if_kept.assign(static_cast<size_t>(p.L + 1), 0.0);
  exact.agreement_if_changed = exact.agreement_if_kept;
  double changed = 0;
  std::vector<uint32_t> observed(static_cast<size_t>(d));
  // Adds the posterior draws of one observation of one clean tree, with weight `likelihood`.
  auto add_posterior = [&](const std::vector<uint32_t>& clean, const testing::EnumeratedPosterior& posterior,
                           double likelihood) {
    for (size_t t = 0; t < posterior.trees.size(); ++t) {
      const double weight = likelihood * posterior.probability[t];
      const bool kept = posterior.trees[t][0] == clean[0];
      (kept ? exact.kept : changed) += weight;
      for (int level = 0; level <= p.L; ++level) {
        int64_t same = 0;
        for (int64_t i = 0; i < nodes_at_level(p, level); ++i) {
          const auto node = static_cast<size_t>(level_offset(p, level) + i);
          same += posterior.trees[t][node] == clean[node];
        }
        (kept ? exact.agreement_if_kept : exact.agreement_if_changed)[static_cast<size_t>(level)] +=
            weight * static_cast<double>(same) / static_cast<double>(nodes_at_level(p, level));
      }
    }
  };
  if (noise.channel == Channel::soft) {
    // The ε-process observes the clean string itself; only the evidence is soft.
    for (const auto& clean : trees) {
      const auto posterior = testing::enumerate_posterior(grammar, [&](int64_t i, uint32_t a) {
        return std::log((clean[static_cast<size_t>(leaf_begin + i)] == a ? 1 - noise.level : 0.0) + noise.level / p.v);
      });
      add_posterior(clean, posterior, tree_prior);
    }
  }
  int64_t observations = noise.channel == Channel::soft ? 0 : 1;
  for (int64_t i = 0; i < d && observations > 0; ++i) observations *= alphabet;
  for (int64_t code = 0; code < observations; ++code) {
    for (int64_t i = 0, rest = code; i < d; ++i, rest /= alphabet) observed[static_cast<size_t>(i)] = static_cast<uint32_t>(rest % alphabet);
    const auto posterior = testing::enumerate_posterior(grammar, [&](int64_t i, uint32_t a) {
      return std::log(channel(observed[static_cast<size_t>(i)], a));
    });
    for (const auto& clean : trees) {
      double likelihood = tree_prior;
      for (int64_t i = 0; i < d; ++i) likelihood *= channel(observed[static_cast<size_t>(i)], clean[static_cast<size_t>(leaf_begin + i)]);
      if (likelihood == 0) continue;
      add_posterior(clean, posterior, likelihood);
    }
  }
  for (double& a : exact.agreement_if_kept) a /= exact.kept;
  for (double& a : exact.agreement_if_changed) a /= changed;
  return exact;
}

TEST(Phase, ConditionalAgreementsEqualTheirEnumeratedValues) {
  // v = 3, two classes, m = 2, s = 2, L = 2: 16 derivations, 81 (uniform) or 256 (mask) observations,
  // or for soft the 16 clean strings themselves.
  for (const auto& [channel, level] :
       {std::pair{Channel::uniform, 0.6}, std::pair{Channel::mask, 0.55}, std::pair{Channel::soft, 0.85}}) {
    PhaseConfig config = small_config(channel, {level});
    config.v = 3;
    config.n_classes = 2;
    config.depths = {2};
    config.grammar_seeds = {5};
    config.samples = 6000;
    config.trajectories = 2;
    config.seed = 11;
    const auto results = run_phase(config);
    const auto exact = enumerate_outcomes(make_random_grammar({3, 2, 2, 2, 2, 5}), NoiseSpec{channel, level});
    ASSERT_GT(exact.kept, 0.2);
    ASSERT_LT(exact.kept, 0.95) << "both outcomes must be common for the test to say something";
    for (const auto& row : results.rows) {
      const auto name = fmt::format("{} level {}", channel_name(channel), row.level);
      // The kept fraction is a mean of 0/1 outcomes: its error from the binomial law with
      // clustering by sample (at most a factor √2 for two trajectories).
      const double fraction_error = std::sqrt(2 * exact.kept * (1 - exact.kept) / (6000.0 * 2));
      EXPECT_NEAR(row.kept.fraction, exact.kept, 4 * fraction_error) << name;
      EXPECT_NEAR(row.kept.fraction + row.changed.fraction, 1, 1e-12) << name;
      ASSERT_TRUE(row.kept.agreement && row.changed.agreement) << name;
      EXPECT_NEAR(row.kept.agreement->mean, exact.agreement_if_kept[static_cast<size_t>(row.level)],
                  4 * row.kept.agreement->standard_error + 1e-12) << name;
      EXPECT_NEAR(row.changed.agreement->mean, exact.agreement_if_changed[static_cast<size_t>(row.level)],
                  4 * row.changed.agreement->standard_error + 1e-12) << name;
      if (row.level > 0) {
        EXPECT_GT(row.kept.agreement->standard_error, 0) << name;
        EXPECT_LT(row.changed.agreement->standard_error, 0.02) << name;
      }
    }
  }
}

TEST(Phase, OutcomesMixBackToTheAgreementOnEveryRow) {
  // fraction(kept)·A(kept) + fraction(changed)·A(changed) = A, for one and several grammars and trajectories.
  for (const auto& [grammars, trajectories] : {std::pair{std::vector<uint64_t>{0}, 1}, std::pair{std::vector<uint64_t>{0, 1, 2}, 3}}) {
    auto config = small_config(Channel::uniform, {0.0, 0.15, 0.4, 1.0});
    config.grammar_seeds = grammars;
    config.trajectories = trajectories;
    config.samples = 300;
    for (const auto& row : run_phase(config).rows) {
      const double mixed = row.kept.fraction * (row.kept.agreement ? row.kept.agreement->mean : 0) +
                           row.changed.fraction * (row.changed.agreement ? row.changed.agreement->mean : 0);
      EXPECT_NEAR(mixed, row.agreement.mean, 1e-12) << "noise " << row.noise_index << " level " << row.level;
      EXPECT_EQ(row.kept.trajectories + row.changed.trajectories, 300 * trajectories * static_cast<int64_t>(grammars.size()));
      if (row.level > 0) EXPECT_NEAR(row.changes.changed_fraction, 1 - row.agreement.mean, 1e-12);
      EXPECT_EQ(row.changes.by_lca.size(), static_cast<size_t>(row.level));
    }
  }
}

TEST(Phase, TokenSusceptibilityPeaksInsideTheTransition) {
  // The paper's grammar at L = 5: changes are independent-ish at low and high
  // noise and come in blocks in between.
  PhaseConfig config = parse_phase_config(kDefaultPhaseConfig, "default");
  config.channel = Channel::uniform;
  config.depths = {5};
  config.grammar_seeds = {0, 1};
  config.noise = {{0.02, std::nullopt}, {0.2, std::nullopt}, {0.9, std::nullopt}};
  config.samples = 200;
  config.trajectories = 4;
  const auto results = run_phase(config);
  std::vector<Estimate> chi;
  for (const auto& row : results.rows)
    if (row.level == 5) chi.push_back(row.changes.susceptibility.value());
  ASSERT_EQ(chi.size(), 3u);
  EXPECT_GT(chi[1].mean - chi[0].mean, 3 * std::hypot(chi[1].standard_error, chi[0].standard_error));
  EXPECT_GT(chi[1].mean - chi[2].mean, 3 * std::hypot(chi[1].standard_error, chi[2].standard_error));
  const auto peaks = token_susceptibility_peaks(config, results);
  ASSERT_EQ(peaks.size(), 1u);
  EXPECT_EQ(peaks[0].noise_index, 1u);
}

}  // namespace
}  // namespace hdiff
