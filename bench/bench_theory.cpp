// Density-evolution cost for the paper's setting (v = 32, m = 8, s = 2): one
// annealed table draw, one member's fused draw and combine, the upward flow of
// the threshold search per level, and the predictions at one noise level, with
// 100 000 members.

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

// One member of an upward level: a fresh table drawn and combined with two children.
void BM_AnnealedDrawAndCombine(benchmark::State& state) {
  hdiff::AnnealedTableSampler sampler(32, 32, 8, 2);
  std::vector<double> left(32, 1.0 / 32), right(32, 1.0 / 32), parent(32);
  left[0] = right[0] = 0.5;
  uint64_t index = 0;
  for (auto _ : state) {
    hdiff::RandomStream random(1, hdiff::RandomDomain::theory, index++);
    sampler.draw_and_combine(random, left.data(), right.data(), parent);
    benchmark::DoNotOptimize(parent.data());
  }
}
BENCHMARK(BM_AnnealedDrawAndCombine);

// The flow of the threshold search: leaves, then range(0) upward levels over
// 100 000 members (the difference between the two arguments is the cost per level).
void BM_UpwardFlow(benchmark::State& state) {
  hdiff::TheoryParams params;
  params.population = 100000;
  for (auto _ : state)
    benchmark::DoNotOptimize(hdiff::upward_flow(params, 0.15, static_cast<int>(state.range(0))).data());
}
BENCHMARK(BM_UpwardFlow)->Arg(1)->Arg(5)->Unit(benchmark::kMillisecond)->UseRealTime();

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
