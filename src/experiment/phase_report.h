#pragma once
// What `hdiff phase` writes (docs/phase.md): the tidy results.csv,
// conditional.csv, changes.csv, correlations.csv and information.csv, run.json,
// the figures and the stdout summary.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/output.h"
#include "experiment/phase.h"

namespace hdiff {

// The headers of results.csv, conditional.csv, changes.csv, correlations.csv and information.csv.
extern const char* const kPhaseCsvHeader;
extern const char* const kConditionalCsvHeader;
extern const char* const kChangesCsvHeader;
extern const char* const kCorrelationsCsvHeader;
extern const char* const kInformationCsvHeader;

// results.csv as text: one row per (L, noise, level), in that order.
std::string phase_csv(const PhaseConfig& config, const PhaseResults& results);
// conditional.csv: rows `kept` and `changed` per (L, noise, level), in results.csv's order.
std::string conditional_csv(const PhaseConfig& config, const PhaseResults& results);
// changes.csv: one row per (L, noise, level ≥ 1).
std::string changes_csv(const PhaseConfig& config, const PhaseResults& results);
// correlations.csv: one row per (L, noise, level, lowest-common-ancestor level k < level).
std::string correlations_csv(const PhaseConfig& config, const PhaseResults& results);
// information.csv: one row per (L, noise, level), in results.csv's order.
std::string information_csv(const PhaseConfig& config, const PhaseResults& results);

// Where the token-level susceptibility of one depth is largest.
struct SusceptibilityPeak {
  int L = 0;
  size_t noise_index = 0;
  Estimate susceptibility;
};

// The peak of χ_L over the noise axis for every depth that has a defined χ.
std::vector<SusceptibilityPeak> token_susceptibility_peaks(const PhaseConfig& config, const PhaseResults& results);

// Where the class-agreement curves of two adjacent depths cross.
struct ClassCrossing {
  int shallow_L = 0;
  int deep_L = 0;
  double at = 0;  // noise level (diffusion time when the config gives times), linearly interpolated
};

// For each pair of adjacent depths (in the config's order), where A_0 of the two
// crosses: among the adjacent noise points (sorted along the axis) between which
// their difference changes sign, the pair where it changes most (the steep
// crossing at the transition, not a flip of two flat, equal curves far from it),
// interpolated linearly; where the curves are exactly equal at grid points
// between the two, the middle of those points. Pairs that never cross are left out.
std::vector<ClassCrossing> class_curve_crossings(const PhaseConfig& config, const PhaseResults& results);
// One stdout line: the crossings and their mean, or that the curves do not cross.
std::string class_crossing_summary(const PhaseConfig& config, const PhaseResults& results);

// The table of class agreement (rows: noise, columns: L) printed on stdout.
std::string class_agreement_table(const PhaseConfig& config, const PhaseResults& results);
// One stdout line per depth: where the token susceptibility peaks, and its height.
std::string susceptibility_summary(const PhaseConfig& config, const PhaseResults& results);

// Draws class_agreement, level_agreement, conditional_agreement,
// token_susceptibility, information (I(z_ℓ; x_t)/H(z_ℓ) per level at the
// largest L) and speciation (Σ_y p(y | x_t)² beside the class agreement, per
// L) (.png, .svg and .pdf, in the shared figure style) and
// figures.gp into `out`. A figure whose every value is undefined (χ_L with no
// varying change) is drawn as a frame with a note saying why. Returns false when
// skipped (no rows, gnuplot missing or interrupted); throws Error (FileError
// where the disk is full) when a figure could not be drawn completely, so that
// the caller commits nothing.
bool plot_phase(const PhaseConfig& config, const PhaseResults& results, const OutputDir& out);
// The same figures in `folder` (for the grammars of a grid, one folder each).
bool plot_phase(const PhaseConfig& config, const PhaseResults& results, const std::filesystem::path& folder);

// The contents of run.json for one grammar alone: resolved config, seeds, version, commit, wall time.
nlohmann::json phase_run_record(const PhaseConfig& config, const PhaseResults& results, double wall_seconds, int threads);

// The folder of a grid point's figures inside the output folder, e.g. v16_classes16_m2_s2.
std::string phase_grid_folder(const PhaseConfig& config);

// How a run went, for run.json.
struct PhaseRunFacts {
  double wall_seconds = 0;
  int threads = 1;
  int ranks = 1;
  int64_t units_resumed = 0;       // units read back from an unfinished run's journal
  int64_t bytes_communicated = 0;   // what rank 0 received from the other ranks and broadcast
};

// Writes everything `hdiff phase` leaves in its output folder (staged in `out`):
// the five CSV tables (the rows of each grid point in grid order), run.json, and,
// unless interrupted, the figures (a grid of one grammar at the top of the
// folder, else one folder per grammar, phase_grid_folder). run.json has the same
// shape for one grammar as for a grid: a `grid` array with each point's `folder`
// (".": the top of the output folder), `config` and `rows`; with one grammar it
// also keeps, at the top, that grammar's `config`, `grammar_seeds` and `rows`.
void write_phase_outputs(const std::vector<PhaseConfig>& grid, const std::vector<PhaseResults>& results,
                         const PhaseRunFacts& facts, OutputDir& out);

}  // namespace hdiff
