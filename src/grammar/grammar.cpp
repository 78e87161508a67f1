#include "grammar/grammar.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>

#include "common/error.h"
#include "common/memory.h"
#include "common/random.h"

namespace hdiff {
namespace {

constexpr uint64_t kCodeLimit = uint64_t{1} << 62;

// Tuple code b_1·v^(s-1) + … + b_s; the caller guarantees v^s fits.
uint64_t encode(std::span<const uint32_t> tuple, uint64_t base) {
  uint64_t code = 0;
  for (auto symbol : tuple) code = code * base + symbol;
  return code;
}

void decode(uint64_t code, uint64_t base, std::span<uint32_t> tuple) {
  for (size_t j = tuple.size(); j-- > 0;) {
    tuple[j] = static_cast<uint32_t>(code % base);
    code /= base;
  }
}

// `count` distinct codes drawn uniformly without replacement from [0, total), in
// the order drawn.
std::vector<uint64_t> draw_distinct(uint64_t total, uint64_t count, RandomStream& random) {
  std::vector<uint64_t> codes;
  codes.reserve(count);
  if (total <= (uint64_t{1} << 24) && count * 4 > total) {
    // Dense case: a partial Fisher–Yates shuffle of all codes.
    std::vector<uint64_t> all(total);
    std::iota(all.begin(), all.end(), uint64_t{0});
    for (uint64_t i = 0; i < count; ++i) {
      const uint64_t j = i + random.below(total - i);
      std::swap(all[i], all[j]);
      codes.push_back(all[i]);
    }
    return codes;
  }
  // Sparse case: rejection of repeats; at most a quarter of the codes are taken,
  // so each draw succeeds with probability at least 3/4.
  std::unordered_set<uint64_t> seen;
  seen.reserve(count * 2);
  while (codes.size() < count) {
    const uint64_t code = random.below(total);
    if (seen.insert(code).second) codes.push_back(code);
  }
  return codes;
}

}  // namespace

int64_t nodes_at_level(const GrammarParams& params, int level) {
  int64_t n = 1;
  for (int i = 0; i < level; ++i) n *= params.s;
  return n;
}

int64_t level_offset(const GrammarParams& params, int level) {
  return (nodes_at_level(params, level) - 1) / (params.s - 1);
}

int64_t internal_nodes(const GrammarParams& params) {
  return (sequence_length(params) - 1) / (params.s - 1);
}

uint64_t tuples_per_level(const GrammarParams& params) {
  uint64_t total = 1;
  for (int j = 0; j < params.s; ++j) {
    if (total > kCodeLimit / static_cast<uint64_t>(params.v)) return kCodeLimit + 1;
    total *= static_cast<uint64_t>(params.v);
  }
  return total;
}

void validate(const GrammarParams& p) {
  if (p.v < 2) fail("v = {} is too small; the vocabulary needs v >= 2 symbols", p.v);
  if (p.v > (1 << 20)) fail("v = {} is too large; hdiff supports v <= {}", p.v, 1 << 20);
  if (p.n_classes < 1) fail("classes = {} is too small; give at least 1 class", p.n_classes);
  if (p.n_classes > (1 << 20)) fail("classes = {} is too large; hdiff supports at most {}", p.n_classes, 1 << 20);
  if (p.m < 1) fail("m = {} is too small; every symbol needs m >= 1 productions", p.m);
  if (p.s < 2) fail("s = {} is too small; productions need s >= 2 children", p.s);
  if (p.s > 16) fail("s = {} is too large; hdiff supports s <= 16", p.s);
  if (p.L < 1) fail("L = {} is too small; the tree needs depth L >= 1", p.L);
  // d = s^L tokens must be addressable and a sample must fit in memory.
  const double log2_d = p.L * std::log2(static_cast<double>(p.s));
  if (log2_d > 30) fail("s^L = {}^{} tokens is too long; hdiff supports strings of at most 2^30 tokens", p.s, p.L);
  const uint64_t tuples = tuples_per_level(p);
  if (tuples > kCodeLimit) fail("v^s = {}^{} exceeds 2^62 tuples; lower v or s", p.v, p.s);
  for (int level = 0; level < p.L; ++level) {
    const uint64_t needed = static_cast<uint64_t>(symbols_at_level(p, level)) * static_cast<uint64_t>(p.m);
    if (needed > tuples)
      fail("{}·m = {}·{} = {} productions at level {} exceed the v^s = {}^{} = {} distinct tuples; "
           "lower m{} or raise v or s",
           level == 0 ? "classes" : "v", symbols_at_level(p, level), p.m, needed, level, p.v, p.s, tuples,
           level == 0 ? " or classes" : "");
  }
  const double table_bytes = (static_cast<double>(p.n_classes) + static_cast<double>(p.v) * (p.L - 1)) * p.m *
                             (p.s * 4.0 + 12.0);
  check_memory(table_bytes, "the grammar's production tables", "lower m, v or L");
}

int64_t ProductionTable::find(std::span<const uint32_t> tuple) const {
  for (auto symbol : tuple)
    if (symbol >= static_cast<uint32_t>(n_children)) return -1;
  const uint64_t code = encode(tuple, static_cast<uint64_t>(n_children));
  const auto it = std::lower_bound(sorted_codes.begin(), sorted_codes.end(), code);
  if (it == sorted_codes.end() || *it != code) return -1;
  return sorted_production[static_cast<size_t>(it - sorted_codes.begin())];
}

void ProductionTable::build_index(int level) {
  const int64_t productions = static_cast<int64_t>(n_parents) * m;
  std::vector<std::pair<uint64_t, uint32_t>> pairs(static_cast<size_t>(productions));
  for (int64_t p = 0; p < productions; ++p)
    pairs[static_cast<size_t>(p)] = {encode(production(p), static_cast<uint64_t>(n_children)), static_cast<uint32_t>(p)};
  std::sort(pairs.begin(), pairs.end());
  sorted_codes.resize(pairs.size());
  sorted_production.resize(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (i > 0 && pairs[i].first == pairs[i - 1].first) {
      const auto p1 = pairs[i - 1].second, p2 = pairs[i].second;
      fail("grammar is ambiguous: at level {}, production {} of symbol {} and production {} of symbol {} have "
           "the same children; every tuple of a level may have only one parent",
           level, p1 % m, p1 / m, p2 % m, p2 / m);
    }
    sorted_codes[i] = pairs[i].first;
    sorted_production[i] = pairs[i].second;
  }
}

Grammar make_random_grammar(const GrammarParams& params) {
  validate(params);
  Grammar grammar;
  grammar.params = params;
  const uint64_t total = tuples_per_level(params);
  for (int level = 0; level < params.L; ++level) {
    ProductionTable table;
    table.n_parents = symbols_at_level(params, level);
    table.n_children = params.v;
    table.m = params.m;
    table.s = params.s;
    const uint64_t count = static_cast<uint64_t>(table.n_parents) * static_cast<uint64_t>(params.m);
    RandomStream random(params.seed, RandomDomain::grammar, static_cast<uint64_t>(level));
    const auto codes = draw_distinct(total, count, random);
    table.children.resize(count * static_cast<uint64_t>(params.s));
    for (uint64_t p = 0; p < count; ++p)
      decode(codes[p], static_cast<uint64_t>(params.v),
             {table.children.data() + p * static_cast<uint64_t>(params.s), static_cast<size_t>(params.s)});
    table.build_index(level);
    grammar.levels.push_back(std::move(table));
  }
  return grammar;
}

double production_fraction(const GrammarParams& params) {
  return params.m / std::pow(static_cast<double>(params.v), params.s - 1);
}

double log10_strings_per_class(const GrammarParams& params) {
  return static_cast<double>(internal_nodes(params)) * std::log10(static_cast<double>(params.m));
}

}  // namespace hdiff
