// Static ownership of work units: the same on every rank, computed, not communicated.

#include <algorithm>
#include <numeric>

#include "cluster/cluster.h"

namespace hdiff::cluster {

std::vector<int> assign_units(std::span<const double> costs, int ranks) {
  std::vector<int> owner(costs.size(), 0);
  if (ranks <= 1) return owner;
  std::vector<size_t> order(costs.size());
  std::iota(order.begin(), order.end(), size_t{0});
  // Largest first, so that the small units fill the gaps the large ones leave.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return costs[a] > costs[b]; });
  std::vector<double> load(static_cast<size_t>(ranks), 0.0);
  for (size_t unit : order) {
    const auto lightest = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    owner[unit] = static_cast<int>(lightest);
    load[lightest] += costs[unit];
  }
  return owner;
}

}  // namespace hdiff::cluster
