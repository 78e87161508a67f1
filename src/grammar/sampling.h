#pragma once
// Generation of RHM samples with all their latents (SPEC §1), and parsing of
// strings back into latents.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "grammar/grammar.h"

namespace hdiff {

// Draws the tree of sample `index` under `seed` into `tree` (tree_size symbols,
// level by level, root first). A pure function of (grammar, seed, index).
void sample_tree(const Grammar& grammar, uint64_t seed, int64_t index, std::span<uint32_t> tree);

// A batch of samples: count trees of tree_size symbols each, stored one after the other.
struct SampleBatch {
  int64_t count = 0;
  int64_t tree_size = 0;
  std::vector<uint32_t> trees;
  // The whole tree of sample n.
  std::span<const uint32_t> tree(int64_t n) const {
    return {trees.data() + n * tree_size, static_cast<size_t>(tree_size)};
  }
};

// Samples first .. first+count-1 under `seed`, in parallel; identical for any
// thread count or batch split.
SampleBatch sample_batch(const Grammar& grammar, uint64_t seed, int64_t first, int64_t count);

// The outcome of parsing: either all latents, or the first block that is not a production.
struct ParseResult {
  bool valid = false;
  std::vector<uint32_t> tree;  // tree_size symbols, level by level (when valid)
  int level = -1;              // when invalid: level of the missing parent (0..L-1)
  int64_t position = -1;       // when invalid: index of that parent within its level
  // "block <position> at level <level> is not a production", or "valid".
  std::string describe() const;
};

// Parses a string of d tokens bottom-up; tokens must lie in [0, v).
ParseResult parse(const Grammar& grammar, std::span<const uint32_t> tokens);

// Parses in place: `tree` holds the tokens at its level-L slot and receives every
// latent above; returns false at the first invalid block (setting level/position).
bool parse_tree(const Grammar& grammar, std::span<uint32_t> tree, int* level = nullptr, int64_t* position = nullptr);

}  // namespace hdiff
