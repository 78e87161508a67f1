// Density-evolution cost: one annealed table draw, and the predictions at one
// noise level for the paper's setting (v = 32, m = 8, s = 2) with 100 000 members.

#include <benchmark/benchmark.h>

#include "theory/annealed_table.h"
#include "theory/density_evolution.h"

namespace {

void BM_AnnealedTableDraw(benchmark::State& state) {
  hdiff::AnnealedTableSampler sampler(32, 32, 8, 2);
  uint64_t index = 0;
  for (auto _ : state) {
    hdiff::RandomStream random(1, hdiff::RandomDomain::theory, index++);
    benchmark::DoNotOptimize(sampler.draw(random).data());
  }
}
BENCHMARK(BM_AnnealedTableDraw);

// One noise level, depths L = 2..range: (L_max − 1) upward levels, one root per
// L and L downward levels per L, each over the whole population.
void BM_PredictLevels(benchmark::State& state) {
  hdiff::TheoryParams params;
  params.population = 100000;
  std::vector<int> depths;
  for (int L = 2; L <= state.range(0); L += 2) depths.push_back(L);
  for (auto _ : state) benchmark::DoNotOptimize(hdiff::predict_levels(params, 0.15, depths).data());
}
BENCHMARK(BM_PredictLevels)->Arg(2)->Arg(6)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
