// The fast batch BP path against the double reference path and against
// brute-force enumeration; exact posterior draws; results independent of how
// samples are grouped into batches; float underflow sent to the double path.

#include "bp/batch_bp.h"

#include "bp/batch_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "common/error.h"
#include "grammar/sampling.h"
#include "support/enumeration.h"
#include "support/statistics.h"

namespace hdiff {
namespace {

// Marginals: 1e-5 relative, with an absolute floor far below anything a
// probability is read at (float32 flushes values under 1e-38 of a message to 0).
constexpr double kMarginalTolerance = 1e-5;
constexpr double kMarginalFloor = 1e-30;
// log p(obs): 1e-6 relative, 1e-6 absolute near 0 (mask and gaussian omit observation-only factors).
constexpr double kEvidenceTolerance = 1e-6;

// Observation `index` of a grammar through a channel: tokens or gaussian values.
struct Observation {
  std::vector<uint32_t> tokens;
  std::vector<double> values;
};

Observation observe(const Grammar& grammar, const NoiseSpec& noise, int64_t index, uint64_t seed = 7) {
  const auto& p = grammar.params;
  const int64_t d = sequence_length(p);
  std::vector<uint32_t> tree(static_cast<size_t>(tree_size(p)));
  sample_tree(grammar, seed, index, tree);
  const std::span<const uint32_t> clean(tree.data() + level_offset(p, p.L), static_cast<size_t>(d));
  RandomStream random(seed + 4, RandomDomain::noise, static_cast<uint64_t>(index));
  Observation observation;
  if (noise.channel == Channel::gaussian) {
    observation.values.resize(static_cast<size_t>(d * p.v));
    corrupt_gaussian(noise, p.v, clean, random, observation.values);
  } else {
    observation.tokens.resize(static_cast<size_t>(d));
    corrupt_tokens(noise, p.v, clean, random, observation.tokens);
  }
  return observation;
}

void load(const BatchPlan& plan, BatchMessages& batch, const Observation& observation) {
  if (plan.noise.channel == Channel::gaussian)
    load_gaussian(plan, batch, observation.values);
  else
    load_tokens(plan, batch, observation.tokens);
}

// The double reference path on one observation (both passes); throws on zero evidence.
TreeMessages reference(const Grammar& grammar, const NoiseSpec& noise, const Observation& observation) {
  TreeMessages messages(grammar.params);
  messages.leaf_log_scale = noise.channel == Channel::gaussian
                                ? gaussian_likelihoods(noise, grammar.params.v, observation.values, messages.leaves())
                                : token_likelihoods(noise, grammar.params.v, observation.tokens, messages.leaves());
  upward_messages(grammar, messages);
  downward_messages(grammar, messages);
  return messages;
}

// Runs observations first..first+count-1 through batches of `lanes_per_batch` lanes and
// checks every lane against the reference.
void expect_equal_to_reference(const Grammar& grammar, const NoiseSpec& noise, int64_t count, int lanes_per_batch,
                               uint64_t seed = 7) {
  const auto& p = grammar.params;
  // Under the pair table, both ways of holding level L-1: stored and virtual.
  for (int pass = 0; pass < 2; ++pass) {
  BatchPlan plan(grammar, noise);
  if (pass == 1) {
    if (!plan.pair_table || p.L < 2) break;
    batch_detail::set_virtual_pair_level(plan, !plan.virtual_pair_level);
  }
  SCOPED_TRACE(plan.virtual_pair_level ? "level L-1 virtual" : "level L-1 stored");
  BatchMessages batch(plan);
  for (int64_t first = 0; first < count; first += lanes_per_batch) {
    clear_batch(batch);
    const int lanes = static_cast<int>(std::min<int64_t>(lanes_per_batch, count - first));
    std::vector<Observation> observations;
    for (int l = 0; l < lanes; ++l) {
      observations.push_back(observe(grammar, noise, first + l, seed));
      load(plan, batch, observations.back());
    }
    batch_upward(plan, batch);
    batch_downward(plan, batch);
    for (int l = 0; l < lanes; ++l) {
      ASSERT_EQ(lane_error(batch, l), "") << "observation " << first + l;
      const TreeMessages exact = reference(grammar, noise, observations[static_cast<size_t>(l)]);
      EXPECT_NEAR(lane_log_evidence(batch, l), exact.log_evidence, kEvidenceTolerance * std::max(1.0, std::fabs(exact.log_evidence)))
          << "observation " << first + l;
      for (int level = 0; level <= p.L; ++level) {
        const int n = symbols_at_level(p, level);
        std::vector<double> fast(static_cast<size_t>(nodes_at_level(p, level) * n)), slow(fast.size());
        batch_marginals(plan, batch, l, level, fast);
        node_marginals(grammar, exact, level, slow);
        for (size_t k = 0; k < fast.size(); ++k)
          ASSERT_NEAR(fast[k], slow[k], kMarginalTolerance * slow[k] + kMarginalFloor)
              << "observation " << first + l << " level " << level << " entry " << k;
        // The level's mass at chosen symbols: the node-by-node sum, and the reference's.
        std::vector<uint32_t> chosen(static_cast<size_t>(nodes_at_level(p, level)));
        double by_node = 0, exact_mass = 0;
        for (size_t i = 0; i < chosen.size(); ++i) {
          chosen[i] = static_cast<uint32_t>((i * 7 + static_cast<size_t>(level) + static_cast<size_t>(l)) % static_cast<size_t>(n));
          by_node += batch_marginal_at(plan, batch, l, level, static_cast<int64_t>(i), chosen[i]);
          exact_mass += slow[i * static_cast<size_t>(n) + chosen[i]];
        }
        const double mass = batch_level_mass(plan, batch, l, level, chosen);
        EXPECT_NEAR(mass, by_node, 1e-12 * by_node + 1e-300) << "observation " << first + l << " level " << level;
        EXPECT_NEAR(mass, exact_mass, kMarginalTolerance * exact_mass + kMarginalFloor)
            << "observation " << first + l << " level " << level;
      }
    }
  }
  }
}

TEST(BatchBp, PaperGrammarEqualsReferenceOnEveryChannel) {
  const Grammar grammar = make_random_grammar({32, 32, 8, 2, 6, 3});
  expect_equal_to_reference(grammar, {Channel::uniform, 0.2}, 20, kBatchLanes);
  expect_equal_to_reference(grammar, {Channel::uniform, 0.6}, 12, kBatchLanes);
  expect_equal_to_reference(grammar, {Channel::mask, 0.5}, 12, kBatchLanes);
  expect_equal_to_reference(grammar, {Channel::mask, 0.97}, 12, kBatchLanes);  // heavily masked
  expect_equal_to_reference(grammar, {Channel::gaussian, 0.3}, 12, kBatchLanes);
  expect_equal_to_reference(grammar, {Channel::gaussian, 0.97}, 12, kBatchLanes);  // near-noiseless
  expect_equal_to_reference(grammar, {Channel::gaussian, 0.999}, 12, kBatchLanes);
  expect_equal_to_reference(grammar, {Channel::soft, 0.73}, 12, kBatchLanes);
  expect_equal_to_reference(grammar, {Channel::soft, 0.05}, 12, kBatchLanes);  // nearly noiseless
}

TEST(BatchBp, OtherShapesEqualReference) {
  // n_c != v, s = 3 (no pair table, general kernels), odd m, L = 1 (the root sees the leaves),
  // m = 36: lists of productions per leaf symbol too long to be padded (kPaddedLeafList).
  for (const GrammarParams& params : {GrammarParams{12, 5, 3, 3, 4, 1}, GrammarParams{9, 4, 5, 2, 5, 2},
                                      GrammarParams{16, 16, 4, 2, 1, 3}, GrammarParams{6, 3, 2, 4, 3, 4},
                                      GrammarParams{40, 10, 36, 2, 3, 1}}) {
    const Grammar grammar = make_random_grammar(params);
    SCOPED_TRACE(fmt::format("v {} classes {} m {} s {} L {}", params.v, params.n_classes, params.m, params.s, params.L));
    expect_equal_to_reference(grammar, {Channel::uniform, 0.3}, 10, 5);
    expect_equal_to_reference(grammar, {Channel::mask, 0.8}, 10, 3);
    expect_equal_to_reference(grammar, {Channel::gaussian, 0.5}, 10, kBatchLanes);
    expect_equal_to_reference(grammar, {Channel::soft, 0.6}, 10, 7);
  }
}

TEST(BatchBp, DeepTreeEqualsReference) {
  const Grammar grammar = make_random_grammar({32, 32, 8, 2, 11, 5});
  expect_equal_to_reference(grammar, {Channel::uniform, 0.25}, kBatchLanes, kBatchLanes);
}

// The enumeration cases of belief_propagation_test, on the fast path.
TEST(BatchBp, SmallGrammarsEqualEnumeration) {
  for (const GrammarParams& params : {GrammarParams{3, 2, 2, 2, 2, 1}, GrammarParams{4, 3, 3, 2, 3, 2},
                                      GrammarParams{5, 5, 2, 2, 3, 3}, GrammarParams{3, 3, 2, 3, 2, 4},
                                      GrammarParams{4, 2, 3, 3, 2, 5}}) {
    const Grammar grammar = make_random_grammar(params);
    const auto& p = grammar.params;
    for (const NoiseSpec noise : {NoiseSpec{Channel::uniform, 0.35}, NoiseSpec{Channel::mask, 0.45},
                                  NoiseSpec{Channel::gaussian, 0.4}, NoiseSpec{Channel::soft, 0.7}}) {
      const BatchPlan plan(grammar, noise);
      BatchMessages batch(plan);
      std::vector<Observation> observations;
      for (int l = 0; l < 6; ++l) {
        observations.push_back(observe(grammar, noise, l));
        load(plan, batch, observations.back());
      }
      batch_upward(plan, batch);
      batch_downward(plan, batch);
      for (int l = 0; l < 6; ++l) {
        const Observation& o = observations[static_cast<size_t>(l)];
        const double coupling = std::sqrt(noise.level) / (1 - noise.level);
        const auto exact = testing::enumerate_posterior(grammar, [&](int64_t i, uint32_t a) {
          if (noise.channel == Channel::gaussian) return coupling * o.values[static_cast<size_t>(i * p.v + a)];
          const uint32_t token = o.tokens[static_cast<size_t>(i)];
          if (noise.channel == Channel::mask) return token == mask_token(p.v) ? 0.0 : (token == a ? 0.0 : -INFINITY);
          return std::log((1 - noise.level) * (token == a) + noise.level / p.v);
        });
        ASSERT_EQ(lane_error(batch, l), "");
        EXPECT_NEAR(lane_log_evidence(batch, l), exact.log_evidence, kEvidenceTolerance * std::max(1.0, std::fabs(exact.log_evidence)));
        for (int level = 0; level <= p.L; ++level) {
          std::vector<double> marginals(exact.marginals[static_cast<size_t>(level)].size());
          batch_marginals(plan, batch, l, level, marginals);
          for (size_t k = 0; k < marginals.size(); ++k) {
            const double want = exact.marginals[static_cast<size_t>(level)][k];
            ASSERT_NEAR(marginals[k], want, kMarginalTolerance * want + kMarginalFloor)
                << channel_name(noise.channel) << " lane " << l << " level " << level << " entry " << k;
          }
        }
      }
    }
  }
}

TEST(BatchBp, PosteriorSamplesFollowTheEnumeratedPosterior) {
  for (const GrammarParams& params : {GrammarParams{4, 3, 3, 2, 3, 2}, GrammarParams{3, 3, 2, 3, 2, 4}}) {
    const Grammar grammar = make_random_grammar(params);
    const auto& p = grammar.params;
    for (const NoiseSpec noise : {NoiseSpec{Channel::uniform, 0.35}, NoiseSpec{Channel::mask, 0.45},
                                  NoiseSpec{Channel::gaussian, 0.4}, NoiseSpec{Channel::soft, 0.7}}) {
      const BatchPlan plan(grammar, noise);
      BatchMessages batch(plan);
      const Observation o = observe(grammar, noise, 3);
      // The observation in the last lane, behind others, to exercise a lane other than 0.
      for (int l = 0; l < kBatchLanes - 1; ++l) load(plan, batch, observe(grammar, noise, 10 + l));
      load(plan, batch, o);
      batch_upward(plan, batch);
      const double coupling = std::sqrt(noise.level) / (1 - noise.level);
      const auto exact = testing::enumerate_posterior(grammar, [&](int64_t i, uint32_t a) {
        if (noise.channel == Channel::gaussian) return coupling * o.values[static_cast<size_t>(i * p.v + a)];
        const uint32_t token = o.tokens[static_cast<size_t>(i)];
        if (noise.channel == Channel::mask) return token == mask_token(p.v) ? 0.0 : (token == a ? 0.0 : -INFINITY);
        return std::log((1 - noise.level) * (token == a) + noise.level / p.v);
      });
      std::map<std::vector<uint32_t>, size_t> index_of;
      for (size_t t = 0; t < exact.trees.size(); ++t) index_of[exact.trees[t]] = t;
      std::vector<int64_t> counts(exact.trees.size(), 0);
      std::vector<uint32_t> tree(static_cast<size_t>(tree_size(p)));
      for (int k = 0; k < 20000; ++k) {
        RandomStream random(5, RandomDomain::posterior, 0, static_cast<uint64_t>(k));
        batch_sample_posterior(plan, batch, kBatchLanes - 1, random, tree);
        const auto it = index_of.find(tree);
        ASSERT_NE(it, index_of.end()) << "posterior sample is not a derivation";
        ++counts[it->second];
      }
      EXPECT_GT(testing::chi_square_p_value(counts, exact.probability), 1e-3) << channel_name(noise.channel);
    }
  }
}

// Everything a lane returns, to compare bit for bit.
struct LaneResult {
  double log_evidence;
  std::vector<double> marginals;
  std::vector<uint32_t> tree;
  bool operator==(const LaneResult&) const = default;
};

// With `flip_pair_level`, level L-1 is held the other way (stored or virtual) than the plan would.
std::vector<LaneResult> run_in_batches(const Grammar& grammar, const NoiseSpec& noise, int64_t count, int lanes_per_batch,
                                       bool flip_pair_level = false) {
  const auto& p = grammar.params;
  BatchPlan plan(grammar, noise);
  if (flip_pair_level) batch_detail::set_virtual_pair_level(plan, !plan.virtual_pair_level);
  BatchMessages batch(plan);
  std::vector<LaneResult> results;
  for (int64_t first = 0; first < count; first += lanes_per_batch) {
    clear_batch(batch);
    const int lanes = static_cast<int>(std::min<int64_t>(lanes_per_batch, count - first));
    for (int l = 0; l < lanes; ++l) load(plan, batch, observe(grammar, noise, first + l));
    batch_upward(plan, batch);
    // Batches draw in turn with batch_sample_posteriors, lane by lane, and fused
    // with the downward pass: the same draws.
    std::vector<RandomStream> randoms;
    std::vector<std::vector<uint32_t>> trees(static_cast<size_t>(lanes), std::vector<uint32_t>(static_cast<size_t>(tree_size(p))));
    for (int l = 0; l < lanes; ++l) randoms.emplace_back(9, RandomDomain::posterior, static_cast<uint64_t>(first + l));
    std::vector<std::span<uint32_t>> spans(trees.begin(), trees.end());
    const int64_t mode = (first / lanes_per_batch) % 3;
    if (mode == 2) {
      batch_downward_and_sample(plan, batch, randoms, spans);
    } else {
      batch_downward(plan, batch);
      if (mode == 0)
        batch_sample_posteriors(plan, batch, randoms, spans);
      else
        for (int l = 0; l < lanes; ++l) batch_sample_posterior(plan, batch, l, randoms[static_cast<size_t>(l)], trees[static_cast<size_t>(l)]);
    }
    for (int l = 0; l < lanes; ++l) {
      LaneResult result{lane_log_evidence(batch, l), {}, trees[static_cast<size_t>(l)]};
      for (int level = 0; level <= p.L; ++level) {
        std::vector<double> marginals(static_cast<size_t>(nodes_at_level(p, level) * symbols_at_level(p, level)));
        batch_marginals(plan, batch, l, level, marginals);
        result.marginals.insert(result.marginals.end(), marginals.begin(), marginals.end());
      }
      results.push_back(std::move(result));
    }
  }
  return results;
}

TEST(BatchBp, ResultsDoNotDependOnBatchFormation) {
  const Grammar grammar = make_random_grammar({32, 32, 8, 2, 5, 2});
  for (const NoiseSpec noise : {NoiseSpec{Channel::uniform, 0.3}, NoiseSpec{Channel::gaussian, 0.5}}) {
    const auto full = run_in_batches(grammar, noise, 19, kBatchLanes);
    for (int lanes : {1, 3, 5, 7}) EXPECT_TRUE(run_in_batches(grammar, noise, 19, lanes) == full) << lanes << " lanes";
  }
}

TEST(BatchBp, PortableAndVectorKernelsGiveIdenticalResults) {
  // The kernels are compiled without fused multiply-adds, so every set rounds alike.
  // Each set this machine runs (generic always; avx2 and avx512 where the CPU has them).
  const auto& sets = batch_detail::available_kernels();
  ASSERT_EQ(std::string(sets.front().name), "generic");
  // Every vector set the CPU runs is among them, so this compares them, not generic with itself.
  auto has = [&](const char* name) {
    return std::any_of(sets.begin(), sets.end(), [&](const auto& set) { return std::string(set.name) == name; });
  };
#if defined(__x86_64__)  // where CMake builds the x86 kernel sets
  EXPECT_EQ(has("avx2"), __builtin_cpu_supports("avx2") != 0);
  EXPECT_EQ(has("avx512"), __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"));
#endif
  // v = 40: levels of more than 32 parent symbols, where the vector sampler gathers instead of permuting.
  for (const GrammarParams& params : {GrammarParams{32, 32, 8, 2, 5, 4}, GrammarParams{40, 10, 3, 2, 4, 1}})
  for (const NoiseSpec noise : {NoiseSpec{Channel::uniform, 0.3}, NoiseSpec{Channel::mask, 0.6}, NoiseSpec{Channel::gaussian, 0.5}}) {
    const Grammar grammar = make_random_grammar(params);
    batch_detail::force_kernels("generic");
    const auto generic = run_in_batches(grammar, noise, 2 * kBatchLanes, kBatchLanes);
    for (const auto& set : sets) {
      batch_detail::force_kernels(set.name);
      EXPECT_TRUE(run_in_batches(grammar, noise, 2 * kBatchLanes, kBatchLanes) == generic)
          << set.name << ", " << channel_name(noise.channel);
      // Level L-1 virtual instead of stored: the same floats, so the same results.
      if (noise.channel != Channel::gaussian)
        EXPECT_TRUE(run_in_batches(grammar, noise, 2 * kBatchLanes, kBatchLanes, true) == generic)
            << set.name << ", " << channel_name(noise.channel) << ", level L-1 virtual";
    }
    batch_detail::force_kernels(nullptr);
  }
}

// The pass that sums level masses (keeping no deep messages) against
// batch_downward_and_sample then batch_level_mass: the same draws and, bit for
// bit, the same masses of the clean trees.
void expect_fused_masses_equal_stored(const Grammar& grammar, const NoiseSpec& noise, int64_t count, int lanes_per_batch,
                                      bool flip_pair_level) {
  const auto& p = grammar.params;
  BatchPlan plan(grammar, noise);
  if (flip_pair_level) batch_detail::set_virtual_pair_level(plan, !plan.virtual_pair_level);
  BatchMessages stored(plan), fused(plan);
  const auto nodes = static_cast<size_t>(tree_size(p));
  const auto levels = static_cast<size_t>(p.L + 1);
  for (int64_t first = 0; first < count; first += lanes_per_batch) {
    const auto lanes = static_cast<size_t>(std::min<int64_t>(lanes_per_batch, count - first));
    clear_batch(stored);
    clear_batch(fused);
    std::vector<std::vector<uint32_t>> clean(lanes, std::vector<uint32_t>(nodes));
    for (size_t l = 0; l < lanes; ++l) {
      sample_tree(grammar, 7, first + static_cast<int64_t>(l), clean[l]);
      const Observation observation = observe(grammar, noise, first + static_cast<int64_t>(l));
      load(plan, stored, observation);
      load(plan, fused, observation);
    }
    batch_upward(plan, stored);
    batch_upward(plan, fused);
    std::vector<RandomStream> randoms;
    for (size_t l = 0; l < lanes; ++l) randoms.emplace_back(9, RandomDomain::posterior, static_cast<uint64_t>(first) + l);
    std::vector<RandomStream> fused_randoms = randoms;
    std::vector<std::vector<uint32_t>> trees(lanes, std::vector<uint32_t>(nodes)), fused_trees(trees);
    std::vector<std::span<uint32_t>> spans(trees.begin(), trees.end()), fused_spans(fused_trees.begin(), fused_trees.end());
    const std::vector<std::span<const uint32_t>> clean_trees(clean.begin(), clean.end());
    std::vector<double> level_mass(lanes * levels, -1.0);
    batch_downward_and_sample(plan, stored, randoms, spans);
    batch_downward_sample_and_mass(plan, fused, fused_randoms, fused_spans, clean_trees, level_mass);
    EXPECT_EQ(trees, fused_trees) << "batch at " << first;
    for (size_t l = 0; l < lanes; ++l) {
      ASSERT_EQ(lane_error(fused, static_cast<int>(l)), "");
      for (size_t level = 0; level < levels; ++level) {
        const auto begin = static_cast<size_t>(level_offset(p, static_cast<int>(level)));
        const auto count_at = static_cast<size_t>(nodes_at_level(p, static_cast<int>(level)));
        const double expected = batch_level_mass(plan, stored, static_cast<int>(l), static_cast<int>(level),
                                                 std::span<const uint32_t>(clean[l]).subspan(begin, count_at));
        EXPECT_EQ(level_mass[l * levels + level], expected)
            << "observation " << first + static_cast<int64_t>(l) << " level " << level;
      }
      // The fast lanes' marginals were summed, not kept.
      if (!fused.fallback[l])
        EXPECT_THROW(batch_marginal_at(plan, fused, static_cast<int>(l), p.L, 0, 0), std::logic_error);
    }
  }
}

TEST(BatchBp, FusedLevelMassesEqualThoseOfTheKeptMessages) {
  const auto& sets = batch_detail::available_kernels();
  // L = 7 and 11: levels below the bottom subtrees' roots, in the window; v = 40: the
  // sampler's gathers; s = 3: no pair table.
  for (const GrammarParams& params : {GrammarParams{32, 32, 8, 2, 7, 4}, GrammarParams{8, 8, 2, 2, 11, 1},
                                      GrammarParams{40, 10, 3, 2, 4, 1}, GrammarParams{6, 4, 2, 3, 4, 2},
                                      GrammarParams{40, 10, 36, 2, 3, 1}})
    for (const NoiseSpec noise : {NoiseSpec{Channel::uniform, 0.3}, NoiseSpec{Channel::mask, 0.6}, NoiseSpec{Channel::gaussian, 0.5}}) {
      SCOPED_TRACE(fmt::format("v = {}, s = {}, L = {}, {}", params.v, params.s, params.L, channel_name(noise.channel)));
      const Grammar grammar = make_random_grammar(params);
      for (const auto& set : sets) {
        SCOPED_TRACE(set.name);
        batch_detail::force_kernels(set.name);
        expect_fused_masses_equal_stored(grammar, noise, kBatchLanes + 5, kBatchLanes, false);
        if (noise.channel != Channel::gaussian && params.s == 2)
          expect_fused_masses_equal_stored(grammar, noise, kBatchLanes, kBatchLanes, true);
      }
      batch_detail::force_kernels(nullptr);
    }
}

TEST(BatchBp, ShortListsOfLeafProductionsArePadded) {
  const BatchPlan padded(make_random_grammar({32, 32, 8, 2, 4, 1}), {Channel::uniform, 0.2});
  EXPECT_GT(padded.leaf_list_length, 0);
  EXPECT_EQ(padded.leaf_list_length % 2, 0);
  for (size_t q = 0; q + 1 < padded.leaf_start.size(); ++q)
    EXPECT_LE(padded.leaf_start[q + 1] - padded.leaf_start[q], static_cast<uint32_t>(padded.leaf_list_length));
  EXPECT_EQ(BatchPlan(make_random_grammar({40, 10, 36, 2, 3, 1}), {Channel::uniform, 0.2}).leaf_list_length, 0);
}

TEST(BatchBp, DeepTreesKeepLevelAboveTheLeavesVirtual) {
  // Level L-1 is not stored where it would not fit in cache; shallow trees store it.
  EXPECT_TRUE(BatchPlan(make_random_grammar({32, 32, 8, 2, 11, 5}), {Channel::uniform, 0.2}).virtual_pair_level);
  EXPECT_FALSE(BatchPlan(make_random_grammar({32, 32, 8, 2, 6, 3}), {Channel::uniform, 0.2}).virtual_pair_level);
  EXPECT_FALSE(BatchPlan(make_random_grammar({32, 32, 8, 2, 11, 5}), {Channel::gaussian, 0.2}).virtual_pair_level);
}

TEST(BatchBp, FloatUnderflowGoesToTheDoublePath) {
  // Near-noiseless gaussian observations of strings that are not grammatical: the
  // messages span far more than float32's range, and the lane must still be exact.
  const Grammar grammar = make_random_grammar({8, 8, 2, 2, 4, 6});
  const auto& p = grammar.params;
  const NoiseSpec noise{Channel::gaussian, 0.985};  // leaf ratios near e^-66
  const BatchPlan plan(grammar, noise);
  BatchMessages batch(plan);
  std::vector<Observation> observations;
  const int64_t d = sequence_length(p);
  for (int l = 0; l < kBatchLanes; ++l) {
    Observation o;
    o.values.assign(static_cast<size_t>(d * p.v), 0.0);
    RandomStream random(3, RandomDomain::noise, static_cast<uint64_t>(l));
    for (int64_t i = 0; i < d; ++i)  // an arbitrary string, seen almost without noise
      o.values[static_cast<size_t>(i * p.v + static_cast<int64_t>(random.below(static_cast<uint64_t>(p.v))))] = 1.0;
    for (auto& x : o.values) x += 0.02 * random.normal();
    observations.push_back(o);
    load(plan, batch, o);
  }
  batch_upward(plan, batch);
  // The fused pass draws what the separate ones draw, on both paths.
  BatchMessages fused(plan);
  for (const auto& o : observations) load(plan, fused, o);
  batch_upward(plan, fused);
  const auto nodes = static_cast<size_t>(tree_size(p));
  std::vector<std::vector<uint32_t>> trees(kBatchLanes, std::vector<uint32_t>(nodes)), fused_trees(trees);
  std::vector<RandomStream> randoms, fused_randoms;
  for (int l = 0; l < kBatchLanes; ++l) randoms.emplace_back(2, RandomDomain::posterior, static_cast<uint64_t>(l));
  fused_randoms = randoms;
  std::vector<std::span<uint32_t>> spans(trees.begin(), trees.end()), fused_spans(fused_trees.begin(), fused_trees.end());
  batch_downward_and_sample(plan, fused, fused_randoms, fused_spans);
  batch_downward(plan, batch);
  batch_sample_posteriors(plan, batch, randoms, spans);
  EXPECT_EQ(trees, fused_trees);
  // And the pass that sums level masses, on both paths: those of the kept messages.
  BatchMessages summed(plan);
  for (const auto& o : observations) load(plan, summed, o);
  batch_upward(plan, summed);
  std::vector<std::vector<uint32_t>> summed_trees(trees);
  std::vector<std::span<uint32_t>> summed_spans(summed_trees.begin(), summed_trees.end());
  std::vector<RandomStream> summed_randoms;
  for (int l = 0; l < kBatchLanes; ++l) summed_randoms.emplace_back(2, RandomDomain::posterior, static_cast<uint64_t>(l));
  const std::vector<std::span<const uint32_t>> drawn(trees.begin(), trees.end());
  std::vector<double> level_mass(static_cast<size_t>(kBatchLanes * (p.L + 1)));
  batch_downward_sample_and_mass(plan, summed, summed_randoms, summed_spans, drawn, level_mass);
  EXPECT_EQ(trees, summed_trees);
  for (int l = 0; l < kBatchLanes; ++l)
    for (int level = 0; level <= p.L; ++level)
      EXPECT_EQ(level_mass[static_cast<size_t>(l * (p.L + 1) + level)],
                batch_level_mass(plan, batch, l, level,
                                 std::span<const uint32_t>(trees[static_cast<size_t>(l)])
                                     .subspan(static_cast<size_t>(level_offset(p, level)), static_cast<size_t>(nodes_at_level(p, level)))))
          << "lane " << l << " level " << level;
  int fallbacks = 0;
  for (int l = 0; l < kBatchLanes; ++l) {
    fallbacks += batch.fallback[l] != 0;
    const TreeMessages exact = reference(grammar, noise, observations[static_cast<size_t>(l)]);
    EXPECT_NEAR(lane_log_evidence(batch, l), exact.log_evidence, kEvidenceTolerance * std::max(1.0, std::fabs(exact.log_evidence)));
    for (int level = 0; level <= p.L; ++level) {
      std::vector<double> fast(static_cast<size_t>(nodes_at_level(p, level) * symbols_at_level(p, level))), slow(fast.size());
      batch_marginals(plan, batch, l, level, fast);
      node_marginals(grammar, exact, level, slow);
      for (size_t k = 0; k < fast.size(); ++k) ASSERT_NEAR(fast[k], slow[k], kMarginalTolerance * slow[k] + kMarginalFloor);
    }
  }
  EXPECT_GT(fallbacks, 0) << "the test should exercise the double path";
}

TEST(BatchBp, ImpossibleEvidenceIsALaneErrorNotNaN) {
  const Grammar grammar = make_random_grammar({4, 2, 2, 2, 2, 3});
  std::vector<uint32_t> tokens(4, 0);
  bool found = false;
  for (uint32_t code = 0; code < 256 && !found; ++code) {
    for (int i = 0; i < 4; ++i) tokens[static_cast<size_t>(i)] = (code >> (2 * i)) & 3;
    found = !parse(grammar, tokens).valid;
  }
  ASSERT_TRUE(found);
  std::vector<uint32_t> tree(static_cast<size_t>(tree_size(grammar.params)));
  sample_tree(grammar, 1, 0, tree);
  const std::vector<uint32_t> valid(tree.begin() + level_offset(grammar.params, 2), tree.end());
  const BatchPlan plan(grammar, {Channel::uniform, 0.0});
  BatchMessages batch(plan);
  load_tokens(plan, batch, valid);
  load_tokens(plan, batch, tokens);
  batch_upward(plan, batch);
  EXPECT_EQ(lane_error(batch, 0), "");
  EXPECT_NE(lane_error(batch, 1).find("probability zero"), std::string::npos) << lane_error(batch, 1);
  EXPECT_THROW(load_tokens(plan, batch, std::vector<uint32_t>{0, 1, 9, 0}), Error);
}

}  // namespace
}  // namespace hdiff
