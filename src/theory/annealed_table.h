#pragma once
// The production table of one node of the annealed tree (SPEC §5): drawn afresh
// for every node, with the true parent symbol 0 owning the tuple (0,…,0) of its
// children's true symbols and every other production a distinct tuple drawn
// uniformly from the remaining v^s − 1.

#include <cstdint>
#include <span>
#include <unordered_set>
#include <vector>

#include "common/random.h"

namespace hdiff {

// Draws fresh annealed tables of one shape; one sampler per thread (it keeps a
// workspace so that a draw does not allocate).
class AnnealedTableSampler {
 public:
  // Tables of n_parents·m productions into s-tuples of [v]; needs n_parents·m ≤ v^s.
  AnnealedTableSampler(int n_parents, int v, int m, int s);

  // Draws a table: production p = a·m + r of parent a has the children
  // children()[p·s .. p·s+s-1]; production 0 is (0,…,0).
  std::span<const uint32_t> draw(RandomStream& random);

  // Draws a fresh table and applies the upward rule of SPEC §3 through it at
  // once: parent(a) = Σ_r left(b_0)·right(b_1), normalised (s = 2 only; Error
  // when every term underflows). When v is a power of two and the table holds at
  // most half of the v² tuples, codes come straight from the random bits and the
  // table is never written out, several times faster than draw() then combining.
  void draw_and_combine(RandomStream& random, const double* left, const double* right, std::span<double> parent);

  // The table the last draw_and_combine used, decoded on demand (for tests).
  std::vector<uint32_t> last_fused_table() const;

  // The table of the last draw.
  std::span<const uint32_t> children() const { return children_; }
  int n_parents() const { return n_parents_; }
  int m() const { return m_; }
  int s() const { return s_; }

 private:
  void draw_codes(RandomStream& random);
  void decode();

  int n_parents_, v_, m_, s_;
  int code_bits_ = 0;                 // log2(v^s) when the fused draw applies, else 0
  uint64_t tuples_;                   // v^s
  bool dense_;                        // partial Fisher–Yates over all codes, else rejection
  bool rejection_;                    // dense and sparse in codes: rejection against a bit set
  std::vector<uint64_t> taken_;       // rejection: bit c set when code c is drawn (cleared after)
  std::vector<uint8_t> taken_bytes_;  // fused draw: byte c = stamp_ when code c is drawn
  uint8_t stamp_ = 0;                 // fused draw: the current draw's mark (never 0)
  std::vector<uint32_t> fused_codes_; // fused draw: the codes drawn
  std::vector<uint32_t> permutation_; // dense: identity between draws
  std::vector<uint32_t> swaps_;       // dense: where each step swapped, to undo
  std::unordered_set<uint64_t> seen_; // sparse: codes drawn so far
  std::vector<uint64_t> codes_;       // the n_parents·m tuple codes, code 0 first
  std::vector<uint32_t> digits_;      // digits of every code, when small enough to tabulate
  std::vector<uint32_t> children_;
};

}  // namespace hdiff
