#include "grammar/sampling.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/error.h"
#include "common/memory.h"
#include "common/random.h"

namespace hdiff {

void sample_tree(const Grammar& grammar, uint64_t seed, int64_t index, std::span<uint32_t> tree) {
  const auto& p = grammar.params;
  RandomStream random(seed, RandomDomain::sample, static_cast<uint64_t>(index));
  tree[0] = static_cast<uint32_t>(random.below(static_cast<uint64_t>(p.n_classes)));
  for (int level = 0; level < p.L; ++level) {
    const auto& table = grammar.levels[static_cast<size_t>(level)];
    const int64_t begin = level_offset(p, level);
    const int64_t count = nodes_at_level(p, level);
    uint32_t* children = tree.data() + level_offset(p, level + 1);
    for (int64_t i = 0; i < count; ++i) {
      const uint32_t symbol = tree[static_cast<size_t>(begin + i)];
      const auto r = static_cast<int64_t>(random.below(static_cast<uint64_t>(p.m)));
      const auto production = table.production(static_cast<int64_t>(symbol) * p.m + r);
      std::copy(production.begin(), production.end(), children + i * p.s);
    }
  }
}

SampleBatch sample_batch(const Grammar& grammar, uint64_t seed, int64_t first, int64_t count) {
  if (count < 0) fail("the number of samples must be non-negative, got {}", count);
  SampleBatch batch;
  batch.count = count;
  batch.tree_size = tree_size(grammar.params);
  check_memory(static_cast<double>(count) * static_cast<double>(batch.tree_size) * 4.0, "the samples",
               "draw fewer samples or lower L");
  batch.trees.resize(static_cast<size_t>(count * batch.tree_size));
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < count; ++n)
    sample_tree(grammar, seed, first + n,
                {batch.trees.data() + n * batch.tree_size, static_cast<size_t>(batch.tree_size)});
  return batch;
}

std::string ParseResult::describe() const {
  if (valid) return "valid";
  return fmt::format("block {} at level {} is not a production", position, level);
}

bool parse_tree(const Grammar& grammar, std::span<uint32_t> tree, int* level_out, int64_t* position_out) {
  const auto& p = grammar.params;
  for (int level = p.L - 1; level >= 0; --level) {
    const auto& table = grammar.levels[static_cast<size_t>(level)];
    const int64_t begin = level_offset(p, level);
    const uint32_t* children = tree.data() + level_offset(p, level + 1);
    const int64_t count = nodes_at_level(p, level);
    for (int64_t i = 0; i < count; ++i) {
      const int64_t production = table.find({children + i * p.s, static_cast<size_t>(p.s)});
      if (production < 0) {
        if (level_out) *level_out = level;
        if (position_out) *position_out = i;
        return false;
      }
      tree[static_cast<size_t>(begin + i)] = static_cast<uint32_t>(production / p.m);
    }
  }
  return true;
}

ParseResult parse(const Grammar& grammar, std::span<const uint32_t> tokens) {
  const auto& p = grammar.params;
  if (static_cast<int64_t>(tokens.size()) != sequence_length(p))
    fail("string has {} tokens; this grammar's strings have s^L = {}", tokens.size(), sequence_length(p));
  ParseResult result;
  result.tree.assign(static_cast<size_t>(tree_size(p)), 0);
  std::copy(tokens.begin(), tokens.end(), result.tree.begin() + level_offset(p, p.L));
  result.valid = parse_tree(grammar, result.tree, &result.level, &result.position);
  if (!result.valid) result.tree.clear();
  return result;
}

}  // namespace hdiff
