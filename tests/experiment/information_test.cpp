// The information measures (docs/phase.md): per-node entropy, cross-entropy
// and same-symbol probability, the prior entropy per level and the leaves'
// marginals from their parents', each against brute-force enumeration; the
// phase unit's per-sample values on the double path against the enumerated
// posterior of the same x_t to 1e-9; and the limits I(z_0; x_t) = log n_c at
// no noise and 0 at full noise.

#include "experiment/information.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/random.h"
#include "experiment/phase.h"
#include "experiment/phase_units.h"
#include "grammar/sampling.h"
#include "support/enumeration.h"

namespace hdiff {
namespace {

TEST(Information, NodeMeasuresOfAKnownDistribution) {
  // p = (1/2, 1/4, 1/4), given unnormalised: H = 1.5 log 2, Σp² = 3/8, −log p(truth = 1) = log 4.
  const std::vector<double> p = {2, 1, 1};
  for (Precision logs : {Precision::float64, Precision::float32}) {
    const double tolerance = logs == Precision::float64 ? 1e-15 : 1e-7;
    const NodeInformation node = node_information(p, 1, logs);
    EXPECT_NEAR(node.entropy, 1.5 * std::log(2.0), tolerance);
    EXPECT_NEAR(node.same_symbol, 0.375, 1e-15);
    EXPECT_NEAR(node.cross_entropy, std::log(4.0), 1e-15);
  }
  // A certain symbol: no entropy, Σp² = 1; the truth at probability 0 is floored, never inf.
  const NodeInformation certain = node_information(std::vector<double>{0, 1, 0}, 0);
  EXPECT_EQ(certain.entropy, 0);
  EXPECT_EQ(certain.same_symbol, 1);
  EXPECT_NEAR(certain.cross_entropy, -std::log(1e-300), 1e-9);
}

// Per-node prior marginals of every level, by enumerating every tree with its prior probability.
std::vector<std::vector<double>> enumerated_prior_marginals(const Grammar& grammar) {
  const auto& p = grammar.params;
  std::vector<std::vector<double>> marginals;
  for (int level = 0; level <= p.L; ++level)
    marginals.emplace_back(static_cast<size_t>(nodes_at_level(p, level) * symbols_at_level(p, level)), 0.0);
  const double prior = 1.0 / p.n_classes / std::pow(static_cast<double>(p.m), static_cast<double>(internal_nodes(p)));
  for (const auto& tree : testing::all_trees(grammar))
    for (int level = 0; level <= p.L; ++level)
      for (int64_t i = 0; i < nodes_at_level(p, level); ++i)
        marginals[static_cast<size_t>(level)][static_cast<size_t>(
            i * symbols_at_level(p, level) + tree[static_cast<size_t>(level_offset(p, level) + i)])] += prior;
  return marginals;
}

// Mean over a level's nodes of −Σ p log p, Σ p² and −log p(truth), computed directly.
NodeInformation direct_level(const std::vector<double>& marginals, int n, std::span<const uint32_t> truth) {
  NodeInformation out;
  for (size_t i = 0; i < truth.size(); ++i) {
    for (int a = 0; a < n; ++a) {
      const double q = marginals[i * static_cast<size_t>(n) + static_cast<size_t>(a)];
      if (q > 0) out.entropy -= q * std::log(q) / static_cast<double>(truth.size());
      out.same_symbol += q * q / static_cast<double>(truth.size());
    }
    out.cross_entropy -= std::log(marginals[i * static_cast<size_t>(n) + truth[i]]) / static_cast<double>(truth.size());
  }
  return out;
}

TEST(Information, PriorLevelEntropyEqualsEnumeration) {
  for (const GrammarParams& params :
       {GrammarParams{3, 2, 2, 2, 2, 5}, GrammarParams{4, 3, 3, 2, 2, 1}, GrammarParams{3, 2, 2, 3, 1, 2}}) {
    const Grammar grammar = make_random_grammar(params);
    const auto marginals = enumerated_prior_marginals(grammar);
    const std::vector<double> entropy = prior_level_entropy(grammar);
    ASSERT_EQ(entropy.size(), static_cast<size_t>(params.L + 1));
    EXPECT_NEAR(entropy[0], std::log(static_cast<double>(params.n_classes)), 1e-15);
    for (int level = 0; level <= params.L; ++level) {
      const std::vector<uint32_t> any_truth(static_cast<size_t>(nodes_at_level(params, level)), 0);
      EXPECT_NEAR(
          entropy[static_cast<size_t>(level)],
          direct_level(marginals[static_cast<size_t>(level)], symbols_at_level(params, level), any_truth).entropy,
          1e-12)
          << "level " << level;
    }
  }
}

TEST(Information, LeafMarginalsFromTheParentsEqualEnumeration) {
  const GrammarParams params{3, 2, 2, 2, 2, 5};
  const Grammar grammar = make_random_grammar(params);
  const int64_t d = sequence_length(params);
  RandomStream random(3, RandomDomain::experiment, 0);
  for (int trial = 0; trial < 5; ++trial) {
    std::vector<double> likelihoods(static_cast<size_t>(d * params.v));
    for (double& x : likelihoods) x = 0.05 + random.uniform();
    const auto exact = testing::enumerate_posterior(
        grammar, [&](int64_t i, uint32_t a) { return std::log(likelihoods[static_cast<size_t>(i * params.v + a)]); });
    std::vector<double> leaves(likelihoods.size());
    leaf_marginals_from_parents(grammar, exact.marginals[static_cast<size_t>(params.L - 1)], likelihoods, leaves);
    for (size_t k = 0; k < leaves.size(); ++k)
      EXPECT_NEAR(leaves[k], exact.marginals[static_cast<size_t>(params.L)][k], 1e-14)
          << "trial " << trial << " value " << k;
  }
}

PhaseConfig tiny(Channel channel, double level, Precision precision) {
  PhaseConfig config;
  config.v = 3;
  config.n_classes = 2;
  config.m = 2;
  config.s = 2;
  config.depths = {2};
  config.grammar_seeds = {5};
  config.channel = channel;
  config.noise = {{level, std::nullopt}};
  config.samples = 40;
  config.information_samples = 24;
  config.trajectories = 2;
  config.seed = 11;
  config.precision = precision;
  return config;
}

// The unit's per-sample information against the enumerated posterior of the same
// x_t (the first trajectory's noise stream), on every channel.
TEST(Information, UnitValuesEqualTheEnumeratedPosteriorOfEachObservation) {
  for (const auto& [channel, level] : {std::pair{Channel::uniform, 0.6}, std::pair{Channel::mask, 0.5},
                                       std::pair{Channel::soft, 0.8}, std::pair{Channel::gaussian, 0.3}})
    for (Precision precision : {Precision::float64, Precision::float32}) {
      const PhaseConfig config = tiny(channel, level, precision);
      const GrammarParams params{config.v, config.n_classes, config.m, config.s, 2, config.grammar_seeds[0]};
      const Grammar grammar = make_random_grammar(params);
      const UnitMeasures measures = run_phase_unit(config, 2, config.grammar_seeds[0], 0);
      const int levels = 3;
      ASSERT_EQ(measures.entropy.size(), static_cast<size_t>(config.information_samples * levels));
      const uint64_t seed = phase_sample_seed(config, config.grammar_seeds[0]);
      const NoiseSpec noise{channel, level};
      const int64_t d = sequence_length(params);
      const double tolerance = precision == Precision::float64 ? 1e-9 : 2e-5;
      for (int64_t n = 0; n < config.information_samples; ++n) {
        std::vector<uint32_t> tree(static_cast<size_t>(tree_size(params)));
        sample_tree(grammar, seed, n, tree);
        const std::span<const uint32_t> tokens(tree.data() + level_offset(params, 2), static_cast<size_t>(d));
        RandomStream noise_random(seed, RandomDomain::noise, static_cast<uint64_t>(n),
                                  0);  // noise point 0, trajectory 0
        std::vector<double> likelihoods(static_cast<size_t>(d * config.v));
        if (channel == Channel::gaussian) {
          std::vector<double> values(static_cast<size_t>(d * config.v));
          corrupt_gaussian(noise, config.v, tokens, noise_random, values);
          gaussian_likelihoods(noise, config.v, values, likelihoods);
        } else {
          std::vector<uint32_t> observed(static_cast<size_t>(d));
          corrupt_tokens(noise, config.v, tokens, noise_random, observed);
          token_likelihoods(noise, config.v, observed, likelihoods);
        }
        const auto exact = testing::enumerate_posterior(grammar, [&](int64_t i, uint32_t a) {
          return std::log(likelihoods[static_cast<size_t>(i * config.v + a)]);
        });
        for (int l = 0; l < levels; ++l) {
          const std::span<const uint32_t> truth(tree.data() + level_offset(params, l),
                                                static_cast<size_t>(nodes_at_level(params, l)));
          const NodeInformation expected =
              direct_level(exact.marginals[static_cast<size_t>(l)], symbols_at_level(params, l), truth);
          const auto slot = static_cast<size_t>(n * levels + l);
          const std::string where = std::string(channel_name(channel)) + " " + precision_name(precision) + " sample " +
                                    std::to_string(n) + " level " + std::to_string(l);
          EXPECT_NEAR(measures.entropy[slot], expected.entropy, tolerance) << where;
          EXPECT_NEAR(measures.cross_entropy[slot], expected.cross_entropy, tolerance) << where;
          EXPECT_NEAR(measures.same_symbol[slot], expected.same_symbol, tolerance) << where;
        }
      }
    }
}

TEST(Information, ClassInformationIsLogClassesWithoutNoiseAndZeroAtFullNoise) {
  for (Precision precision : {Precision::float64, Precision::float32}) {
    const double tolerance = precision == Precision::float64 ? 1e-12 : 1e-5;
    PhaseConfig config = tiny(Channel::soft, 0.0, precision);
    config.v = 8;
    config.n_classes = 8;
    config.depths = {3};
    config.noise = {{0.0, std::nullopt}, {1.0, std::nullopt}};
    config.grammar_seeds = {0, 1};
    const PhaseResults results = run_phase(config);
    for (const PhaseRow& row : results.rows) {
      const InformationSummary& info = row.information;
      const std::string where = std::string(precision_name(precision)) + " noise " + std::to_string(row.noise_index) +
                                " level " + std::to_string(row.level);
      if (row.noise_index == 0) {
        // ε = 0: x_t is x_0 with certain evidence; the parse is unique, so every latent is known.
        EXPECT_NEAR(info.entropy.mean, 0, tolerance) << where;
        EXPECT_NEAR(info.mutual_information.mean, info.prior_entropy, tolerance) << where;
        EXPECT_NEAR(info.same_symbol.mean, 1, tolerance) << where;
        EXPECT_NEAR(info.cross_entropy.mean, 0, tolerance) << where;
        if (row.level == 0) EXPECT_NEAR(info.mutual_information.mean, std::log(8.0), tolerance) << where;
      } else {
        // ε = 1: the posterior is the prior.
        EXPECT_NEAR(info.mutual_information.mean, 0, tolerance) << where;
        EXPECT_NEAR(info.entropy.mean, info.prior_entropy, tolerance) << where;
      }
      EXPECT_EQ(row.information_samples, 24);
    }
  }
}

// Under a true noise channel the posterior is Bayes-optimal, and two posterior
// draws share a latent as often as one draw keeps it (both are E p(z | x_t), the
// Nishimori identity): same_class_probability and the posterior mass agree
// within error on the same x_t (K = N samples, one trajectory).
TEST(Information, SameSymbolProbabilityEqualsThePosteriorMassOnAverage) {
  for (const auto& [channel, level] : {std::pair{Channel::uniform, 0.3}, std::pair{Channel::mask, 0.6}}) {
    PhaseConfig config = tiny(channel, level, Precision::float32);
    config.v = 8;
    config.n_classes = 8;
    config.depths = {3};
    config.samples = 3000;
    config.information_samples = 3000;
    config.trajectories = 1;
    for (const PhaseRow& row : run_phase(config).rows) {
      const double error = std::hypot(row.information.same_symbol.standard_error, row.posterior_mass.standard_error);
      EXPECT_GT(error, 0);
      EXPECT_NEAR(row.information.same_symbol.mean, row.posterior_mass.mean, 4 * error)
          << channel_name(channel) << " level " << row.level;
    }
  }
}

}  // namespace
}  // namespace hdiff
