// parse_tokens against enumeration: on tiny grammars, every string of v^d
// tokens is parsed and each node's flag is compared with whether the string's
// span under it is derived from some symbol, found by expanding the grammar top-down.

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "denoiser/measure.h"
#include "support/helpers.h"

namespace hdiff {
namespace {

// Every leaf string derived from `symbol` at `level`, with that symbol (top-down expansion).
void derive(const Grammar& grammar, int level, uint32_t symbol, std::map<std::vector<uint32_t>, uint32_t>& spans) {
  const auto& p = grammar.params;
  std::vector<std::vector<uint32_t>> strings = {{symbol}};
  for (int l = level; l < p.L; ++l) {
    std::vector<std::vector<uint32_t>> next;
    for (const auto& string : strings) {
      // Every choice of one production per symbol of the string.
      std::vector<std::vector<uint32_t>> expanded = {{}};
      for (uint32_t a : string) {
        std::vector<std::vector<uint32_t>> grown;
        for (const auto& prefix : expanded)
          for (int r = 0; r < p.m; ++r) {
            auto child = prefix;
            const auto rule = grammar.levels[static_cast<size_t>(l)].production(static_cast<int64_t>(a) * p.m + r);
            child.insert(child.end(), rule.begin(), rule.end());
            grown.push_back(child);
          }
        expanded = grown;
      }
      next.insert(next.end(), expanded.begin(), expanded.end());
    }
    strings = next;
  }
  for (const auto& string : strings) {
    const auto [it, inserted] = spans.emplace(string, symbol);
    ASSERT_TRUE(inserted || it->second == symbol) << "two symbols derive one span";
  }
}

void check_every_string(const GrammarParams& params) {
  const Grammar grammar = make_random_grammar(params);
  const int64_t d = sequence_length(params);
  // spans[ℓ]: leaf string of length s^(L−ℓ) → the symbol of level ℓ that derives it.
  std::vector<std::map<std::vector<uint32_t>, uint32_t>> spans(static_cast<size_t>(params.L));
  for (int level = 0; level < params.L; ++level)
    for (int a = 0; a < symbols_at_level(params, level); ++a) derive(grammar, level, static_cast<uint32_t>(a), spans[static_cast<size_t>(level)]);
  int64_t strings = 1, valid_roots = 0;
  for (int64_t i = 0; i < d; ++i) strings *= params.v;
  std::vector<uint32_t> tokens(static_cast<size_t>(d));
  for (int64_t code = 0; code < strings; ++code) {
    int64_t rest = code;
    for (auto& token : tokens) {
      token = static_cast<uint32_t>(rest % params.v);
      rest /= params.v;
    }
    const ParsedTree tree = parse_tokens(grammar, tokens);
    ASSERT_EQ(tree.valid[static_cast<size_t>(params.L)], std::vector<uint8_t>(static_cast<size_t>(d), 1));
    ASSERT_EQ(tree.symbols[static_cast<size_t>(params.L)], tokens);
    for (int level = 0; level < params.L; ++level) {
      const int64_t width = d / nodes_at_level(params, level);
      for (int64_t i = 0; i < nodes_at_level(params, level); ++i) {
        const std::vector<uint32_t> span(tokens.begin() + i * width, tokens.begin() + (i + 1) * width);
        const auto found = spans[static_cast<size_t>(level)].find(span);
        const bool derived = found != spans[static_cast<size_t>(level)].end();
        ASSERT_EQ(tree.valid[static_cast<size_t>(level)][static_cast<size_t>(i)], derived)
            << "string " << code << " level " << level << " node " << i;
        if (derived) ASSERT_EQ(tree.symbols[static_cast<size_t>(level)][static_cast<size_t>(i)], found->second);
      }
    }
    valid_roots += tree.valid[0][0];
  }
  // Every derivation of every class is one valid string (productions are distinct).
  int64_t derivations = static_cast<int64_t>(spans[0].size());
  EXPECT_EQ(valid_roots, derivations);
  EXPECT_GT(valid_roots, 0);
  EXPECT_LT(valid_roots, strings);
}

TEST(ParseTokens, ValidFlagsAreThoseOfEnumeratedDerivations) {
  check_every_string({3, 2, 2, 2, 2, 1});   // v = 3, d = 4: 81 strings
  check_every_string({4, 3, 3, 2, 2, 5});   // v = 4, d = 4: 256 strings
  check_every_string({3, 3, 2, 2, 3, 2});   // d = 8: 6561 strings
  check_every_string({2, 2, 2, 3, 2, 0});   // s = 3, d = 9: 512 strings
}

TEST(ParseTokens, BadStringsAreRefused) {
  const Grammar grammar = make_random_grammar({3, 2, 2, 2, 2, 1});
  EXPECT_NE(testing::error_of([&] { parse_tokens(grammar, std::vector<uint32_t>{0, 1, 2}); }).find("4"), std::string::npos);
  EXPECT_NE(testing::error_of([&] { parse_tokens(grammar, std::vector<uint32_t>{0, 1, 3, 0}); }).find("out of range"),
            std::string::npos);
}

}  // namespace
}  // namespace hdiff
