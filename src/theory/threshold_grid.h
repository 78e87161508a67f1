#pragma once
// The critical noise over a grid of models (`hdiff theory --threshold` with
// lists of v, classes, m, s and channels): one threshold search per model,
// threshold.csv, and the phase diagram, critical noise against
// f = m / v^(s−1) with one curve per channel. Each search is one work unit of
// a run shared across ranks (src/cluster); its result travels as bytes, exact.

#include <string>
#include <vector>

#include "common/gnuplot.h"
#include "theory/density_evolution.h"
#include "theory/threshold.h"

namespace hdiff {

// Lists of the model parameters; every combination is a model.
struct ThresholdGridLists {
  std::vector<Channel> channels;
  std::vector<int> v, n_classes, m, s;
};

// Every combination (channel outermost, then v, classes, m, s), each checked;
// the invalid ones are named together in one error, before any work. `base`
// gives the population, replicas and seed.
std::vector<TheoryParams> threshold_grid(const TheoryParams& base, const ThresholdGridLists& lists);

// f = m / v^(s−1): the fraction of tuples that are productions when n_c = v.
double production_fraction(const TheoryParams& params);

// A search's result (and its wall time) as bytes, and back. decode checks every
// value against what find_threshold with `options` can produce (noise levels in
// [0, 1], a low ≤ high interval, information in [-1, 1], at most options.levels
// levels per probe): a damaged or forged payload is an Error, never a NaN in a table.
std::string encode_threshold(const ThresholdResult& result, double wall_seconds);
ThresholdResult decode_threshold(const std::string& bytes, const ThresholdOptions& options, double& wall_seconds);

// What a resumable threshold run is, for its journal.
std::string threshold_run_identity(const std::vector<TheoryParams>& grid, const ThresholdOptions& options);

// threshold.csv: one row per model, in grid order.
std::string threshold_csv(const std::vector<TheoryParams>& grid, const ThresholdOptions& options,
                          const std::vector<ThresholdResult>& results);

// The gnuplot script of phase_diagram.png, .svg and .pdf (data inline, the
// shared figure style): the critical noise and its interval against f, one
// colour per channel and one point type per v, log scale in f.
FigureScript phase_diagram_script(const std::vector<TheoryParams>& grid, const std::vector<ThresholdResult>& results);

}  // namespace hdiff
