#pragma once
// The phase experiment cut into work units, for runs shared across ranks and
// resumed from a journal (src/cluster): one unit is one (grammar of the grid,
// L, noise point, grammar seed), the unit run_phase_unit computes. Its measures
// travel as bytes (exact: doubles are copied bit for bit), and the collector
// summarises a point once all its grammar seeds have arrived, in seed order,
// so the rows are the same whatever the order of arrival.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "experiment/phase.h"

namespace hdiff {

// One unit of a grid of phase configs.
struct PhaseUnit {
  size_t grid_point = 0;   // index into the grid
  int L = 0;
  size_t noise_index = 0;
  size_t seed_index = 0;   // index into the config's grammar_seeds
};

// Every unit of the grid, in the order of a one-process run: grid point, L,
// noise point, grammar seed.
std::vector<PhaseUnit> phase_units(const std::vector<PhaseConfig>& grid);

// Relative cost of a unit: trajectories × nodes × the work of one node.
double phase_unit_cost(const PhaseConfig& config, const PhaseUnit& unit);

// Whether a rank given `units` of `ranks`' work runs them side by side, one per
// thread: when every thread gets several and `threads` running units on every
// rank fit in half the free memory. Small units scale so much better than batches split
// across threads inside one unit (no join after every unit).
bool run_units_side_by_side(const std::vector<PhaseConfig>& grid, size_t units, int ranks, int threads);

// With several grammar seeds, a point's rows need of each grammar only sums
// over its samples (the standard errors are over grammars): the unit reduced
// to them, L² numbers instead of N·L². The sums are taken in sample order from
// zero, as summarise takes them, so the rows are bit for bit the same.
// Reduced: agreement, mass and the information measures hold one sum per level
// (the latter over their own K samples); the outcome sums and the change terms
// one entry (the mean over clusters; none when there were none).
UnitMeasures reduce_unit_measures(const UnitMeasures& measures, int64_t samples, int L);

// summarise() for reduced units of several grammars: the same rows.
std::vector<PhaseRow> summarise_reduced(int L, size_t noise_index, const std::vector<UnitMeasures>& per_grammar,
                                        int64_t samples, int trajectories, int64_t information_samples);

// What a unit of `config` sends: reduced when the config has several grammar seeds.
bool travels_reduced(const PhaseConfig& config);

// A unit's measures (full or reduced) as bytes, and back. decode checks every
// size against the config (a damaged payload is an Error, never an
// out-of-bounds read).
std::string encode_unit_measures(const UnitMeasures& measures);
UnitMeasures decode_unit_measures(const std::string& bytes, const PhaseConfig& config, int L);

// Runs one unit and returns its measures as they travel (reduced when travels_reduced).
UnitMeasures run_phase_unit_measures(const PhaseConfig& config, const PhaseUnit& unit);

// Runs one unit and returns what it sends to rank 0: run_phase_unit_measures, encoded.
std::string run_phase_unit_result(const PhaseConfig& config, const PhaseUnit& unit);

// What a resumable phase run is, for its journal: the grid, seeds and hdiff build.
std::string phase_run_identity(const std::vector<PhaseConfig>& grid);

// Runs the whole experiment in this process (no journal; the units side by side
// when run_units_side_by_side says so); `on_progress(samples_done)` is called
// on the calling thread as units finish. Stops on Ctrl-C, keeping the completed
// (L, noise) points. The rows are those of `hdiff phase` with the same config.
PhaseResults run_phase(const PhaseConfig& config, const std::function<void(int64_t)>& on_progress = {});

// Gathers unit measures, in any order, into the rows of every grid point.
class PhaseCollector {
 public:
  PhaseCollector(const std::vector<PhaseConfig>& grid, std::vector<PhaseUnit> units);
  // Adds the measures of unit `unit`; summarises its point when it is complete.
  void add(int64_t unit, UnitMeasures measures);
  // The rows of the complete points of every grid point, in (L, noise, level)
  // order; `interrupted` marks results that miss points.
  std::vector<PhaseResults> results(bool interrupted) const;

 private:
  const std::vector<PhaseConfig>& grid_;
  std::vector<PhaseUnit> units_;
  std::map<int64_t, std::vector<UnitMeasures>> waiting_;       // first unit of a point -> measures by seed index
  std::map<int64_t, std::vector<int8_t>> arrived_;             // first unit of a point -> which seeds arrived
  std::map<int64_t, std::vector<PhaseRow>> rows_;              // first unit of a point -> its rows
};

}  // namespace hdiff
