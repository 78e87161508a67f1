// The non-hierarchical control (src/markov): the RHM-matched chain against
// enumeration of a tiny grammar, its stationarity, forward–backward marginals
// against enumeration of every sequence, and posterior draws against the exact
// posterior (a chi-square test at a fixed seed).

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/error.h"
#include "common/random.h"
#include "grammar/grammar.h"
#include "grammar/sampling.h"
#include "markov/forward_backward.h"
#include "markov/markov_chain.h"

namespace hdiff {
namespace {

// A random chain over v symbols (every entry positive) with its stationary start.
MarkovChain random_chain(int v, uint64_t seed) {
  RandomStream random(seed, RandomDomain::experiment, 0);
  MarkovChain chain;
  chain.v = v;
  chain.transition.resize(static_cast<size_t>(v * v));
  for (int a = 0; a < v; ++a) {
    double row = 0;
    for (int b = 0; b < v; ++b) row += chain.transition[static_cast<size_t>(a * v + b)] = 0.05 + random.uniform();
    for (int b = 0; b < v; ++b) chain.transition[static_cast<size_t>(a * v + b)] /= row;
  }
  chain.stationary = stationary_distribution(chain.transition, v);
  return chain;
}

std::vector<double> random_likelihoods(int v, int d, uint64_t seed) {
  RandomStream random(seed, RandomDomain::experiment, 1);
  std::vector<double> out(static_cast<size_t>(v * d));
  for (double& x : out) x = random.uniform() < 0.2 ? 0.0 : random.uniform();  // some zeros: impossible symbols
  for (int i = 0; i < d; ++i) out[static_cast<size_t>(i * v)] += 0.1;        // but never a whole row
  return out;
}

// The posterior probability of every sequence (index Σ x_i v^i), by enumeration.
std::vector<double> enumerate_posterior(const MarkovChain& chain, const std::vector<double>& likelihoods, int d) {
  const int v = chain.v;
  int total = 1;
  for (int i = 0; i < d; ++i) total *= v;
  std::vector<double> weight(static_cast<size_t>(total));
  double sum = 0;
  for (int index = 0; index < total; ++index) {
    int rest = index, previous = -1;
    double w = 1;
    for (int i = 0; i < d; ++i) {
      const int x = rest % v;
      rest /= v;
      w *= (previous < 0 ? chain.stationary[static_cast<size_t>(x)]
                         : chain.transition[static_cast<size_t>(previous * v + x)]) *
           likelihoods[static_cast<size_t>(i * v + x)];
      previous = x;
    }
    weight[static_cast<size_t>(index)] = w;
    sum += w;
  }
  for (double& w : weight) w /= sum;
  return weight;
}

TEST(MarkovChainTest, ForwardBackwardMarginalsEqualEnumeration) {
  for (const auto& [v, d] : {std::pair{2, 6}, std::pair{3, 5}, std::pair{4, 4}, std::pair{3, 1}}) {
    const MarkovChain chain = random_chain(v, static_cast<uint64_t>(v * 10 + d));
    const auto likelihoods = random_likelihoods(v, d, static_cast<uint64_t>(d));
    const auto posterior = enumerate_posterior(chain, likelihoods, d);
    ChainPosterior result;
    forward_backward(chain, likelihoods, d, result);
    for (int i = 0; i < d; ++i) {
      std::vector<double> marginal(static_cast<size_t>(v), 0.0);
      int stride = 1;
      for (int k = 0; k < i; ++k) stride *= v;
      for (size_t index = 0; index < posterior.size(); ++index)
        marginal[(index / static_cast<size_t>(stride)) % static_cast<size_t>(v)] += posterior[index];
      for (int a = 0; a < v; ++a)
        EXPECT_NEAR(result.marginals[static_cast<size_t>(i * v + a)], marginal[static_cast<size_t>(a)], 1e-12)
            << "v=" << v << " d=" << d << " i=" << i << " a=" << a;
    }
  }
}

TEST(MarkovChainTest, PosteriorSamplesFollowTheExactPosterior) {
  const int v = 3, d = 3, draws = 30000;
  const MarkovChain chain = random_chain(v, 5);
  const auto likelihoods = random_likelihoods(v, d, 9);
  const auto posterior = enumerate_posterior(chain, likelihoods, d);
  ChainPosterior result;
  forward_backward(chain, likelihoods, d, result);
  std::vector<int> counts(posterior.size(), 0);
  std::vector<uint32_t> tokens(d);
  for (int k = 0; k < draws; ++k) {
    RandomStream random(17, RandomDomain::posterior, static_cast<uint64_t>(k));
    sample_posterior(chain, result, d, random, tokens);
    ++counts[tokens[0] + v * tokens[1] + v * v * tokens[2]];
  }
  double chi_square = 0;
  int cells = 0;
  for (size_t index = 0; index < posterior.size(); ++index) {
    const double expected = draws * posterior[index];
    if (expected == 0) {
      EXPECT_EQ(counts[index], 0) << "an impossible sequence was drawn";
      continue;
    }
    chi_square += (counts[index] - expected) * (counts[index] - expected) / expected;
    ++cells;
  }
  ASSERT_GT(cells, 5);
  // The 0.999 quantile of chi-square with 26 degrees of freedom is 54.05; fewer cells have a smaller one.
  EXPECT_LT(chi_square, 54.05) << cells << " cells";
}

TEST(MarkovChainTest, ImpossibleObservationsAreAnError) {
  const MarkovChain chain = random_chain(2, 1);
  std::vector<double> likelihoods = {1, 0, 0, 0};
  ChainPosterior result;
  EXPECT_THROW(forward_backward(chain, likelihoods, 2, result), Error);
}

// The RHM's adjacent-pair joint by enumerating every tree of a tiny grammar.
std::vector<double> enumerate_pair_joint(const Grammar& grammar) {
  const auto& p = grammar.params;
  const int64_t d = sequence_length(p);
  const int64_t internal = internal_nodes(p);
  int64_t choices = 1;
  for (int64_t k = 0; k < internal; ++k) choices *= p.m;
  std::vector<double> joint(static_cast<size_t>(p.v * p.v), 0.0);
  const double weight = 1.0 / (static_cast<double>(p.n_classes) * static_cast<double>(choices) * static_cast<double>(d - 1));
  std::vector<uint32_t> tree(static_cast<size_t>(tree_size(p)));
  for (int root = 0; root < p.n_classes; ++root)
    for (int64_t code = 0; code < choices; ++code) {
      tree[0] = static_cast<uint32_t>(root);
      int64_t rest = code;
      for (int level = 0; level < p.L; ++level)
        for (int64_t i = 0; i < nodes_at_level(p, level); ++i) {
          const int64_t r = rest % p.m;
          rest /= p.m;
          const auto children = grammar.levels[static_cast<size_t>(level)].production(
              static_cast<int64_t>(tree[static_cast<size_t>(level_offset(p, level) + i)]) * p.m + r);
          for (int c = 0; c < p.s; ++c)
            tree[static_cast<size_t>(level_offset(p, level + 1) + i * p.s + c)] = children[static_cast<size_t>(c)];
        }
      const uint32_t* leaves = tree.data() + level_offset(p, p.L);
      for (int64_t i = 0; i + 1 < d; ++i) joint[leaves[i] * static_cast<size_t>(p.v) + leaves[i + 1]] += weight;
    }
  return joint;
}

TEST(MarkovChainTest, PairJointEqualsEnumerationOfTheGrammar) {
  for (const GrammarParams& params : {GrammarParams{3, 2, 2, 2, 2, 4}, GrammarParams{4, 3, 2, 2, 3, 1},
                                      GrammarParams{3, 3, 3, 3, 2, 2}, GrammarParams{5, 2, 3, 2, 1, 0}}) {
    const Grammar grammar = make_random_grammar(params);
    const auto exact = enumerate_pair_joint(grammar);
    const auto joint = rhm_adjacent_pair_joint(grammar);
    double total = 0;
    for (size_t k = 0; k < joint.size(); ++k) {
      EXPECT_NEAR(joint[k], exact[k], 1e-12) << "L=" << params.L << " entry " << k;
      total += joint[k];
    }
    EXPECT_NEAR(total, 1.0, 1e-12);
  }
}

TEST(MarkovChainTest, MatchedChainIsStationaryWithTheRhmConditional) {
  for (uint64_t seed : {0, 3}) {
    const Grammar grammar = make_random_grammar({32, 32, 8, 2, 6, seed});
    const MarkovChain chain = rhm_matched_chain(grammar);
    const auto joint = rhm_adjacent_pair_joint(grammar);
    const size_t v = 32;
    double total = 0;
    for (size_t b = 0; b < v; ++b) {
      double flow = 0, row = 0, joint_row = 0;
      for (size_t a = 0; a < v; ++a) flow += chain.stationary[a] * chain.transition[a * v + b];
      for (size_t c = 0; c < v; ++c) {
        row += chain.transition[b * v + c];
        joint_row += joint[b * v + c];
      }
      EXPECT_NEAR(flow, chain.stationary[b], 1e-12) << "pi P = pi at " << b;
      EXPECT_NEAR(row, 1.0, 1e-12);
      for (size_t c = 0; c < v; ++c)
        if (joint_row > 0) EXPECT_NEAR(chain.transition[b * v + c], joint[b * v + c] / joint_row, 1e-14);
      total += chain.stationary[b];
    }
    EXPECT_NEAR(total, 1.0, 1e-12);
  }
}

TEST(MarkovChainTest, SampledChainsHaveTheStationaryPairFrequencies) {
  const MarkovChain chain = random_chain(3, 2);
  const int length = 200000;
  std::vector<uint32_t> tokens(length);
  RandomStream random(4, RandomDomain::sample, 0);
  sample_chain(chain, random, tokens);
  std::vector<double> pairs(9, 0.0);
  for (int i = 0; i + 1 < length; ++i) pairs[tokens[i] * 3 + tokens[i + 1]] += 1.0 / (length - 1);
  for (size_t a = 0; a < 3; ++a)
    for (size_t b = 0; b < 3; ++b) {
      const double expected = chain.stationary[a] * chain.transition[a * 3 + b];
      // Well within 5 standard errors of a frequency (√(p/n) bounds it for a mixing chain within a factor).
      EXPECT_NEAR(pairs[a * 3 + b], expected, 5 * 3 * std::sqrt(expected / length)) << a << "," << b;
    }
}

}  // namespace
}  // namespace hdiff
