#pragma once
// The Random Hierarchy Model's grammar (SPEC §1): for every level ℓ = 0..L-1,
// each symbol of that level has m productions into s-tuples of level ℓ+1 symbols,
// all distinct within a level, so every tuple has at most one parent.
// Guarantees: a grammar is a pure function of its parameters and seed (same
// productions on every machine), and validate() refuses parameters that cannot be
// drawn (more productions per level than s-tuples exist) with an Error naming the fix.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace hdiff {

// The parameters that, with the seed, determine a random grammar.
struct GrammarParams {
  int v = 32;          // vocabulary size of levels 1..L
  int n_classes = 32;  // number of classes (root symbols, level 0)
  int m = 8;           // productions per symbol
  int s = 2;           // children per production
  int L = 2;           // depth: levels 0 (root) .. L (tokens)
  uint64_t seed = 0;   // grammar seed
};

// Number of symbols of `level`: n_classes at the root, v below it.
inline int symbols_at_level(const GrammarParams& params, int level) {
  return level == 0 ? params.n_classes : params.v;
}
// Number of nodes s^level at `level`.
int64_t nodes_at_level(const GrammarParams& params, int level);
// Number of tokens d = s^L.
inline int64_t sequence_length(const GrammarParams& params) { return nodes_at_level(params, params.L); }
// Number of internal nodes (d - 1)/(s - 1).
int64_t internal_nodes(const GrammarParams& params);
// Where level ℓ starts in a tree stored level by level (root first): (s^ℓ-1)/(s-1).
int64_t level_offset(const GrammarParams& params, int level);
// Nodes of the whole tree, levels 0..L: (s^(L+1)-1)/(s-1).
inline int64_t tree_size(const GrammarParams& params) { return level_offset(params, params.L + 1); }
// v^s, or a saturated value above 2^62 when it does not fit.
uint64_t tuples_per_level(const GrammarParams& params);

// Checks every parameter and bound; throws Error naming the parameter and the bound.
void validate(const GrammarParams& params);

// The productions of one level: production p = a·m + r of parent a has the
// children children[p·s .. p·s+s-1].
struct ProductionTable {
  int n_parents = 0;               // symbols of this level
  int n_children = 0;              // symbols of the next level
  int m = 0;                       // productions per parent
  int s = 0;                       // children per production
  std::vector<uint32_t> children;  // flat (n_parents·m) × s child symbols
  std::vector<uint64_t> sorted_codes;       // tuple codes in increasing order, for parsing
  std::vector<uint32_t> sorted_production;  // production index of each sorted code

  // The children of production p.
  std::span<const uint32_t> production(int64_t p) const {
    return {children.data() + p * s, static_cast<size_t>(s)};
  }
  // Production index whose children are `tuple`, or -1 when the tuple is not a production.
  int64_t find(std::span<const uint32_t> tuple) const;
  // Builds the parsing index from `children`; throws Error if two productions are equal.
  void build_index(int level);
};

// A grammar: its parameters and one production table per level 0..L-1.
struct Grammar {
  GrammarParams params;
  std::vector<ProductionTable> levels;
};

// The random grammar of SPEC §1, a pure function of params (including seed).
Grammar make_random_grammar(const GrammarParams& params);

// f = m / v^(s-1): the fraction of tuples that are productions when n_classes = v.
double production_fraction(const GrammarParams& params);
// log10 of the number of strings per class, m^((d-1)/(s-1)).
double log10_strings_per_class(const GrammarParams& params);

}  // namespace hdiff
