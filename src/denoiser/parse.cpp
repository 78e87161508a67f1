// Bottom-up parsing of a string that need not be a derivation: every node whose
// whole subtree parses gets its symbol, the others are marked invalid.

#include <limits>

#include "common/error.h"
#include "denoiser/measure.h"

namespace hdiff {

ParsedTree parse_tokens(const Grammar& grammar, std::span<const uint32_t> tokens) {
  const auto& p = grammar.params;
  const int64_t d = sequence_length(p);
  if (static_cast<int64_t>(tokens.size()) != d) fail("a string of {} tokens does not fit; the grammar's strings have {}", tokens.size(), d);
  ParsedTree tree;
  tree.symbols.resize(static_cast<size_t>(p.L + 1));
  tree.valid.resize(static_cast<size_t>(p.L + 1));
  for (int64_t i = 0; i < d; ++i)
    if (tokens[static_cast<size_t>(i)] >= static_cast<uint32_t>(p.v))
      fail("token {} at position {} is out of range; tokens lie in [0, {}]", tokens[static_cast<size_t>(i)], i, p.v - 1);
  tree.symbols[static_cast<size_t>(p.L)].assign(tokens.begin(), tokens.end());
  tree.valid[static_cast<size_t>(p.L)].assign(static_cast<size_t>(d), 1);
  constexpr uint32_t kInvalid = std::numeric_limits<uint32_t>::max();
  for (int level = p.L - 1; level >= 0; --level) {
    const auto& table = grammar.levels[static_cast<size_t>(level)];
    const int64_t count = nodes_at_level(p, level);
    const auto& children = tree.symbols[static_cast<size_t>(level + 1)];
    const auto& children_valid = tree.valid[static_cast<size_t>(level + 1)];
    auto& symbols = tree.symbols[static_cast<size_t>(level)];
    auto& valid = tree.valid[static_cast<size_t>(level)];
    symbols.assign(static_cast<size_t>(count), kInvalid);
    valid.assign(static_cast<size_t>(count), 0);
    for (int64_t i = 0; i < count; ++i) {
      bool all_valid = true;
      for (int j = 0; j < p.s; ++j) all_valid = all_valid && children_valid[static_cast<size_t>(i * p.s + j)];
      if (!all_valid) continue;
      const int64_t production = table.find({children.data() + i * p.s, static_cast<size_t>(p.s)});
      if (production < 0) continue;
      symbols[static_cast<size_t>(i)] = static_cast<uint32_t>(production / p.m);
      valid[static_cast<size_t>(i)] = 1;
    }
  }
  return tree;
}

}  // namespace hdiff
