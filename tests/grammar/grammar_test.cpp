// Grammars: validation, unambiguity, reproducibility, JSON round trips.

#include "grammar/grammar.h"

#include <gtest/gtest.h>

#include <set>

#include "common/error.h"
#include "grammar/grammar_io.h"
#include "support/helpers.h"

namespace hdiff {
namespace {

using testing::error_of;

TEST(Grammar, EveryLevelHasDistinctTuplesInRange) {
  const Grammar grammar = make_random_grammar({6, 4, 5, 2, 4, 3});
  ASSERT_EQ(grammar.levels.size(), 4u);
  for (size_t level = 0; level < grammar.levels.size(); ++level) {
    const auto& table = grammar.levels[level];
    EXPECT_EQ(table.n_parents, level == 0 ? 4 : 6);
    std::set<std::vector<uint32_t>> tuples;
    for (int64_t p = 0; p < static_cast<int64_t>(table.n_parents) * table.m; ++p) {
      const auto rule = table.production(p);
      for (auto b : rule) EXPECT_LT(b, 6u);
      tuples.insert({rule.begin(), rule.end()});
      EXPECT_EQ(table.find(rule), p);
    }
    EXPECT_EQ(tuples.size(), static_cast<size_t>(table.n_parents * table.m)) << "level " << level;
  }
}

TEST(Grammar, FullLevelUsesEveryTupleOnce) {
  // n·m = v^s: the draw without replacement must use every tuple exactly once.
  const Grammar grammar = make_random_grammar({4, 4, 4, 2, 2, 5});
  std::set<std::vector<uint32_t>> tuples;
  for (int64_t p = 0; p < 16; ++p) tuples.insert({grammar.levels[1].production(p).begin(), grammar.levels[1].production(p).end()});
  EXPECT_EQ(tuples.size(), 16u);
}

TEST(Grammar, IsAPureFunctionOfParametersAndSeed) {
  const GrammarParams params{16, 8, 4, 3, 3, 42};
  EXPECT_EQ(grammar_to_json(make_random_grammar(params)), grammar_to_json(make_random_grammar(params)));
  auto other = params;
  other.seed = 43;
  EXPECT_NE(grammar_to_json(make_random_grammar(params)).at("rules"), grammar_to_json(make_random_grammar(other)).at("rules"));
}

TEST(Grammar, TuplesAreDrawnUniformly) {
  // Over many seeds, each of the v^s tuples is a level-1 production with probability n·m/v^s.
  const GrammarParams base{3, 2, 2, 2, 2, 0};
  std::map<std::vector<uint32_t>, int> hits;
  const int seeds = 3000;
  for (int seed = 0; seed < seeds; ++seed) {
    auto params = base;
    params.seed = static_cast<uint64_t>(seed);
    const auto grammar = make_random_grammar(params);
    for (int64_t p = 0; p < 6; ++p) ++hits[{grammar.levels[1].production(p).begin(), grammar.levels[1].production(p).end()}];
  }
  ASSERT_EQ(hits.size(), 9u);
  for (const auto& [tuple, count] : hits) EXPECT_NEAR(count / double(seeds), 6.0 / 9.0, 0.03);
}

TEST(Grammar, InvalidParametersNameTheParameterAndBound) {
  EXPECT_NE(error_of([] { validate({1, 2, 2, 2, 2, 0}); }).find("v = 1"), std::string::npos);
  EXPECT_NE(error_of([] { validate({4, 2, 2, 1, 2, 0}); }).find("s = 1"), std::string::npos);
  EXPECT_NE(error_of([] { validate({4, 2, 2, 2, 0, 0}); }).find("L = 0"), std::string::npos);
  EXPECT_NE(error_of([] { validate({4, 2, 0, 2, 2, 0}); }).find("m = 0"), std::string::npos);
  EXPECT_NE(error_of([] { validate({4, 0, 2, 2, 2, 0}); }).find("classes = 0"), std::string::npos);
  EXPECT_NE(error_of([] { validate({2, 2, 3, 2, 2, 0}); }).find("exceed the v^s"), std::string::npos);
  EXPECT_NE(error_of([] { validate({4, 9, 2, 2, 2, 0}); }).find("classes"), std::string::npos);
  EXPECT_NE(error_of([] { validate({2, 2, 1, 2, 40, 0}); }).find("too long"), std::string::npos);
}

TEST(GrammarJson, RoundTrips) {
  const Grammar grammar = make_random_grammar({7, 3, 2, 3, 2, 11});
  const Grammar loaded = grammar_from_json(grammar_to_json(grammar), "test");
  EXPECT_EQ(grammar_to_json(loaded), grammar_to_json(grammar));
  EXPECT_EQ(loaded.levels[1].children, grammar.levels[1].children);
}

TEST(GrammarJson, MalformedOrInconsistentFilesAreRejected) {
  const auto good = grammar_to_json(make_random_grammar({4, 2, 2, 2, 2, 1}));
  auto with = [&](const std::function<void(nlohmann::json&)>& change) {
    auto document = good;
    change(document);
    return error_of([&] { grammar_from_json(document, "g.json"); });
  };
  EXPECT_NE(with([](auto& j) { j["format"] = "other"; }).find("not an hdiff grammar"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["version"] = 2; }).find("version"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j.erase("m"); }).find("missing key \"m\""), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["v"] = "four"; }).find("\"v\" must be an integer"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["extra"] = 1; }).find("unknown key \"extra\""), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["rules"].erase(1); }).find("L = 2 levels"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["rules"][1][0][1] = {1}; }).find("s = 2 child symbols"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["rules"][1][0][1][0] = 4; }).find("out of range"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["rules"][1][1][0] = j["rules"][1][0][0]; }).find("ambiguous"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["rules"][0].erase(0); }).find("2 symbols"), std::string::npos);
  EXPECT_NE(with([](auto& j) { j["m"] = 9; }).find("exceed"), std::string::npos);
}

}  // namespace
}  // namespace hdiff
