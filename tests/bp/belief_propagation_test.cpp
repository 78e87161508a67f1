// Exact BP against brute-force enumeration of every derivation.

#include "bp/belief_propagation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "common/error.h"
#include "grammar/grammar.h"
#include "grammar/sampling.h"
#include "noise/channel.h"
#include "support/enumeration.h"
#include "support/statistics.h"

namespace hdiff {
namespace {

struct Case {
  GrammarParams params;
  Channel channel;
  double level;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const auto& p = info.param.params;
  return fmt::format("v{}_c{}_m{}_s{}_L{}_{}", p.v, p.n_classes, p.m, p.s, p.L, channel_name(info.param.channel));
}

// A noisy observation of sample `index`, with its leaf likelihoods and the
// enumerated posterior.
struct Observed {
  std::vector<uint32_t> tokens;
  std::vector<double> values;
  testing::EnumeratedPosterior exact;
};

Observed observe(const Grammar& grammar, const NoiseSpec& noise, int64_t index) {
  const auto& p = grammar.params;
  const int64_t d = sequence_length(p);
  std::vector<uint32_t> tree(static_cast<size_t>(tree_size(p)));
  sample_tree(grammar, 7, index, tree);
  const std::span<const uint32_t> clean(tree.data() + level_offset(p, p.L), static_cast<size_t>(d));
  RandomStream random(11, RandomDomain::noise, static_cast<uint64_t>(index));
  Observed observed;
  std::function<double(int64_t, uint32_t)> log_likelihood;
  if (noise.channel == Channel::gaussian) {
    observed.values.resize(static_cast<size_t>(d * p.v));
    corrupt_gaussian(noise, p.v, clean, random, observed.values);
    const double coupling = std::sqrt(noise.level) / (1 - noise.level);
    log_likelihood = [&, coupling](int64_t i, uint32_t a) { return coupling * observed.values[static_cast<size_t>(i * p.v + a)]; };
  } else {
    observed.tokens.resize(static_cast<size_t>(d));
    corrupt_tokens(noise, p.v, clean, random, observed.tokens);
    if (noise.channel == Channel::soft) EXPECT_TRUE(std::equal(clean.begin(), clean.end(), observed.tokens.begin()));
    log_likelihood = [&, clean](int64_t i, uint32_t a) {
      // soft: the evidence is about the clean token itself, whatever corrupt_tokens did.
      const uint32_t o = noise.channel == Channel::soft ? clean[static_cast<size_t>(i)] : observed.tokens[static_cast<size_t>(i)];
      if (noise.channel == Channel::mask) return o == mask_token(p.v) ? 0.0 : (o == a ? 0.0 : -INFINITY);
      return std::log((1 - noise.level) * (o == a) + noise.level / p.v);
    };
  }
  observed.exact = testing::enumerate_posterior(grammar, log_likelihood);
  return observed;
}

void load_leaves(const Grammar& grammar, const NoiseSpec& noise, const Observed& observed, TreeMessages& messages) {
  const int v = grammar.params.v;
  messages.leaf_log_scale = noise.channel == Channel::gaussian
                                ? gaussian_likelihoods(noise, v, observed.values, messages.leaves())
                                : token_likelihoods(noise, v, observed.tokens, messages.leaves());
}

// Observation `index` of the case, with BP's upward pass already run on it.
struct Prepared {
  Observed observed;
  TreeMessages messages;
};

Prepared prepare_upward(const Grammar& grammar, const NoiseSpec& noise, int64_t index) {
  Prepared prepared{observe(grammar, noise, index), TreeMessages(grammar.params)};
  load_leaves(grammar, noise, prepared.observed, prepared.messages);
  upward_messages(grammar, prepared.messages);
  return prepared;
}

class ExactInference : public ::testing::TestWithParam<Case> {};

TEST_P(ExactInference, MarginalsAndEvidenceEqualEnumeration) {
  const auto& c = GetParam();
  const Grammar grammar = make_random_grammar(c.params);
  const NoiseSpec noise{c.channel, c.level};
  const auto& p = grammar.params;
  for (int64_t index = 0; index < 6; ++index) {
    auto [observed, messages] = prepare_upward(grammar, noise, index);
    downward_messages(grammar, messages);
    EXPECT_NEAR(messages.log_evidence, observed.exact.log_evidence, 1e-10) << "observation " << index;
    for (int level = 0; level <= p.L; ++level) {
      std::vector<double> marginals(observed.exact.marginals[static_cast<size_t>(level)].size());
      node_marginals(grammar, messages, level, marginals);
      for (size_t k = 0; k < marginals.size(); ++k)
        ASSERT_NEAR(marginals[k], observed.exact.marginals[static_cast<size_t>(level)][k], 1e-10)
            << "observation " << index << " level " << level << " entry " << k;
    }
  }
}

TEST_P(ExactInference, MapEqualsEnumeratedArgMax) {
  const auto& c = GetParam();
  const Grammar grammar = make_random_grammar(c.params);
  const NoiseSpec noise{c.channel, c.level};
  const auto& p = grammar.params;
  for (int64_t index = 0; index < 6; ++index) {
    auto [observed, messages] = prepare_upward(grammar, noise, index);
    std::vector<uint32_t> tree(static_cast<size_t>(tree_size(p)));
    map_tree(grammar, messages, tree);
    const auto& exact = observed.exact;
    size_t best = 0;
    for (size_t t = 1; t < exact.trees.size(); ++t)
      if (exact.probability[t] > exact.probability[best]) best = t;
    const auto found = std::find(exact.trees.begin(), exact.trees.end(), tree);
    ASSERT_NE(found, exact.trees.end()) << "MAP tree is not a derivation";
    const double found_probability = exact.probability[static_cast<size_t>(found - exact.trees.begin())];
    // Ties (common under masking and uniform noise) make any maximiser correct;
    // compare the probability, and the tree itself when the maximum is unique.
    EXPECT_NEAR(found_probability, exact.probability[best], 1e-12 * exact.probability[best]) << "observation " << index;
    int maximisers = 0;
    for (double probability : exact.probability) maximisers += probability > exact.probability[best] * (1 - 1e-9);
    if (maximisers == 1) EXPECT_EQ(tree, exact.trees[best]) << "observation " << index;
  }
}

TEST_P(ExactInference, PosteriorSamplesFollowTheExactPosterior) {
  const auto& c = GetParam();
  const Grammar grammar = make_random_grammar(c.params);
  const NoiseSpec noise{c.channel, c.level};
  const auto& p = grammar.params;
  const auto [observed, messages] = prepare_upward(grammar, noise, 3);
  std::map<std::vector<uint32_t>, size_t> index_of;
  for (size_t t = 0; t < observed.exact.trees.size(); ++t) index_of[observed.exact.trees[t]] = t;
  std::vector<int64_t> counts(observed.exact.trees.size(), 0);
  std::vector<uint32_t> tree(static_cast<size_t>(tree_size(p)));
  const int draws = 20000;
  for (int k = 0; k < draws; ++k) {
    RandomStream random(5, RandomDomain::posterior, 0, static_cast<uint64_t>(k));
    sample_posterior(grammar, messages, random, tree);
    const auto it = index_of.find(tree);
    ASSERT_NE(it, index_of.end()) << "posterior sample is not a derivation";
    ++counts[it->second];
  }
  const double p_value = testing::chi_square_p_value(counts, observed.exact.probability);
  EXPECT_GT(p_value, 1e-3) << "posterior samples do not follow the enumerated posterior";
}

std::vector<Case> cases() {
  std::vector<GrammarParams> grammars = {
      {3, 2, 2, 2, 2, 1},  // smallest: v = 3, two classes
      {4, 3, 3, 2, 3, 2},  // n_c != v, three levels
      {5, 5, 2, 2, 3, 3},  // n_c = v
      {3, 3, 2, 3, 2, 4},  // s = 3
      {4, 2, 3, 3, 2, 5},  // s = 3, n_c != v
  };
  std::vector<Case> out;
  for (const auto& g : grammars) {
    out.push_back({g, Channel::uniform, 0.35});
    out.push_back({g, Channel::mask, 0.45});
    out.push_back({g, Channel::gaussian, 0.4});
    out.push_back({g, Channel::soft, 0.7});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(SmallGrammars, ExactInference, ::testing::ValuesIn(cases()), case_name);

TEST(ExactInference, ArbitraryStringUnderUniformNoiseEqualsEnumeration) {
  // A string that is almost surely not grammatical: BP must still be exact.
  const Grammar grammar = make_random_grammar({4, 3, 2, 2, 3, 9});
  const auto& p = grammar.params;
  const std::vector<uint32_t> tokens = {0, 1, 2, 3, 3, 2, 1, 0};
  const NoiseSpec noise{Channel::uniform, 0.6};
  const auto exact = testing::enumerate_posterior(grammar, [&](int64_t i, uint32_t a) {
    return std::log((1 - noise.level) * (tokens[static_cast<size_t>(i)] == a) + noise.level / p.v);
  });
  TreeMessages messages(p);
  messages.leaf_log_scale = token_likelihoods(noise, p.v, tokens, messages.leaves());
  upward_messages(grammar, messages);
  EXPECT_NEAR(messages.log_evidence, exact.log_evidence, 1e-10);
}

TEST(ExactInference, ImpossibleEvidenceIsAnErrorNotNaN) {
  const Grammar grammar = make_random_grammar({4, 2, 2, 2, 2, 3});
  const auto& p = grammar.params;
  // With epsilon = 0 only grammatical strings are possible; find one that is not.
  std::vector<uint32_t> tokens(4, 0);
  bool found = false;
  for (uint32_t code = 0; code < 256 && !found; ++code) {
    for (int i = 0; i < 4; ++i) tokens[static_cast<size_t>(i)] = (code >> (2 * i)) & 3;
    found = !parse(grammar, tokens).valid;
  }
  ASSERT_TRUE(found);
  TreeMessages messages(p);
  messages.leaf_log_scale = token_likelihoods({Channel::uniform, 0.0}, p.v, tokens, messages.leaves());
  try {
    upward_messages(grammar, messages);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("probability zero"), std::string::npos) << e.what();
  }
}

TEST(ExactInference, NoiselessGrammaticalStringIsRecoveredExactly) {
  const Grammar grammar = make_random_grammar({6, 4, 2, 2, 3, 8});
  const auto& p = grammar.params;
  std::vector<uint32_t> tree(static_cast<size_t>(tree_size(p)));
  sample_tree(grammar, 1, 0, tree);
  TreeMessages messages(p);
  messages.leaf_log_scale = token_likelihoods({Channel::uniform, 0.0}, p.v,
                                              {tree.data() + level_offset(p, p.L), static_cast<size_t>(sequence_length(p))},
                                              messages.leaves());
  upward_messages(grammar, messages);
  downward_messages(grammar, messages);
  for (int level = 0; level <= p.L; ++level) {
    const int n = symbols_at_level(p, level);
    std::vector<double> marginals(static_cast<size_t>(nodes_at_level(p, level) * n));
    node_marginals(grammar, messages, level, marginals);
    for (int64_t i = 0; i < nodes_at_level(p, level); ++i)
      EXPECT_DOUBLE_EQ(marginals[static_cast<size_t>(i * n + tree[static_cast<size_t>(level_offset(p, level) + i)])], 1.0);
  }
  // log p(x) = log(1/n_c) - (#internal)·log m for a grammatical string.
  EXPECT_NEAR(messages.log_evidence, -std::log(4.0) - 7 * std::log(2.0), 1e-12);
}

}  // namespace
}  // namespace hdiff
