#include "theory/population.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace hdiff {

namespace {
int64_t replica_start(int64_t r, int64_t count, int64_t replicas) {
  return static_cast<int64_t>((static_cast<uint128_t>(r) * static_cast<uint128_t>(count)) / replicas);
}
}  // namespace

std::pair<int64_t, int64_t> Replicas::block(int64_t r) const {
  const int64_t first = replica_start(r, count, replicas);
  return {first, replica_start(r + 1, count, replicas) - first};
}

int64_t Replicas::replica_of(int64_t i) const {
  // Replica ⌊i·R/P⌋ up to rounding at the edges; found exactly by stepping.
  int64_t r = static_cast<int64_t>((static_cast<uint128_t>(i) * static_cast<uint128_t>(replicas)) / count);
  while (replica_start(r, count, replicas) > i) --r;
  while (replica_start(r + 1, count, replicas) <= i) ++r;
  return r;
}

std::pair<int64_t, int64_t> Replicas::block_of(int64_t i) const { return block(replica_of(i)); }

int64_t Replicas::draw_partner(int64_t i, RandomStream& random) const {
  const auto [first, size] = block_of(i);
  return first + static_cast<int64_t>(random.below(static_cast<uint64_t>(size)));
}

std::vector<double> replica_means(std::span<const double> per_member, const Replicas& replicas) {
  HDIFF_CHECK(static_cast<int64_t>(per_member.size()) == replicas.count && replicas.replicas >= 1);
  std::vector<double> means(static_cast<size_t>(replicas.replicas));
  for (int64_t r = 0; r < replicas.replicas; ++r) {
    const auto [first, size] = replicas.block(r);
    double total = 0;
    for (int64_t i = first; i < first + size; ++i) total += per_member[static_cast<size_t>(i)];
    means[static_cast<size_t>(r)] = total / static_cast<double>(size);
  }
  return means;
}

PopulationMean population_mean(std::span<const double> per_member, const Replicas& replicas) {
  double total = 0;
  for (double x : per_member) total += x;
  PopulationMean result;
  result.mean = total / static_cast<double>(per_member.size());
  const auto means = replica_means(per_member, replicas);
  const auto R = static_cast<double>(means.size());
  if (means.size() < 2) return result;
  double sum = 0;
  for (double mean : means) sum += mean;
  const double mean_of_means = sum / R;
  double squares = 0;
  for (double mean : means) squares += (mean - mean_of_means) * (mean - mean_of_means);
  result.standard_error = std::sqrt(squares / (R - 1) / R);
  return result;
}

RandomStream member_stream(uint64_t seed, uint64_t stage, int64_t member) {
  return RandomStream(seed, RandomDomain::theory, static_cast<uint64_t>(member), stage);
}

void draw_leaf_message(const NoiseSpec& noise, int v, RandomStream& random, std::span<double> leaf) {
  switch (noise.channel) {
    case Channel::uniform: {
      // The same two draws at every ε couple the populations of nearby noise levels.
      const bool redrawn = random.uniform() < noise.level;
      const auto redraw = static_cast<int>(random.below(static_cast<uint64_t>(v)));
      const int observed = redrawn ? redraw : 0;
      std::fill(leaf.begin(), leaf.end(), noise.level / v);
      leaf[static_cast<size_t>(observed)] += 1.0 - noise.level;
      return;
    }
    case Channel::soft: {
      // The ε-process keeps the true token: every leaf message is the same.
      std::fill(leaf.begin(), leaf.end(), noise.level / v);
      leaf[0] += 1.0 - noise.level;
      return;
    }
    case Channel::mask: {
      const bool masked = random.uniform() < noise.level;
      std::fill(leaf.begin(), leaf.end(), masked ? 1.0 / v : 0.0);
      if (!masked) leaf[0] = 1.0;
      return;
    }
    case Channel::gaussian: {
      const double alpha_bar = noise.level;
      const double coupling = std::sqrt(alpha_bar) / (1.0 - alpha_bar);
      const double spread = std::sqrt(1.0 - alpha_bar);
      double top = -INFINITY;
      for (int a = 0; a < v; ++a) {
        const double x = (a == 0 ? std::sqrt(alpha_bar) : 0.0) + spread * random.normal();
        leaf[static_cast<size_t>(a)] = coupling * x;
        top = std::max(top, leaf[static_cast<size_t>(a)]);
      }
      double sum = 0;
      for (auto& value : leaf) sum += value = std::exp(value - top);
      for (auto& value : leaf) value /= sum;
      return;
    }
  }
}

void combine_upward(std::span<const uint32_t> children_table, int n_parents, int m, int s,
                    const double* const* child, std::span<double> parent) {
  const uint32_t* rule = children_table.data();
  double total = 0;
  if (s == 2) {
    const double* left = child[0];
    const double* right = child[1];
    for (int a = 0; a < n_parents; ++a) {
      double sum = 0;
      for (int r = 0; r < m; ++r, rule += 2) sum += left[rule[0]] * right[rule[1]];
      parent[static_cast<size_t>(a)] = sum;
      total += sum;
    }
  } else {
    for (int a = 0; a < n_parents; ++a) {
      double sum = 0;
      for (int r = 0; r < m; ++r, rule += s) {
        double product = child[0][rule[0]];
        for (int j = 1; j < s; ++j) product *= child[j][rule[j]];
        sum += product;
      }
      parent[static_cast<size_t>(a)] = sum;
      total += sum;
    }
  }
  if (!(total > 0))
    fail("the messages of density evolution underflowed (every production has probability below double range); "
         "choose a noise level further from the noiseless end");
  const double inverse = 1.0 / total;
  for (auto& value : parent) value *= inverse;
}

void combine_downward(std::span<const uint32_t> children_table, int n_parents, int m, int s,
                      std::span<const double> parent_down, const double* const* sibling, std::span<double> out) {
  std::fill(out.begin(), out.end(), 0.0);
  const uint32_t* rule = children_table.data();
  for (int a = 0; a < n_parents; ++a) {
    const double weight = parent_down[static_cast<size_t>(a)];
    if (weight == 0) {
      rule += static_cast<ptrdiff_t>(m) * s;
      continue;
    }
    for (int r = 0; r < m; ++r, rule += s) {
      double product = weight;
      for (int k = 1; k < s; ++k) product *= sibling[k - 1][rule[k]];
      out[rule[0]] += product;
    }
  }
  double total = 0;
  for (double value : out) total += value;
  if (!(total > 0))
    fail("the downward messages of density evolution underflowed; choose a noise level further from the "
         "noiseless end");
  const double inverse = 1.0 / total;
  for (auto& value : out) value *= inverse;
}

double true_marginal(std::span<const double> up, std::span<const double> down) {
  double total = 0;
  for (size_t a = 0; a < up.size(); ++a) total += up[a] * down[a];
  if (!(total > 0))
    fail("a marginal of density evolution underflowed; choose a noise level further from the noiseless end");
  return up[0] * down[0] / total;
}

}  // namespace hdiff
