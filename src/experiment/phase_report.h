#pragma once
// What `hdiff phase` writes: the tidy results.csv, run.json, the figures and the
// stdout table of class agreement.

#include <string>

#include <nlohmann/json.hpp>

#include "common/output.h"
#include "experiment/phase.h"

namespace hdiff {

// The header of results.csv.
extern const char* const kPhaseCsvHeader;

// results.csv as text: one row per (L, noise, level), in that order.
std::string phase_csv(const PhaseConfig& config, const PhaseResults& results);

// The table of class agreement (rows: noise, columns: L) printed on stdout.
std::string class_agreement_table(const PhaseConfig& config, const PhaseResults& results);

// Draws class_agreement.{png,svg} and level_agreement.{png,svg} into `out`
// (results.csv must be staged there already). Returns false when skipped.
bool plot_phase(const PhaseConfig& config, const PhaseResults& results, const OutputDir& out);

// The contents of run.json: resolved config, seeds, version, commit, wall time.
nlohmann::json phase_run_record(const PhaseConfig& config, const PhaseResults& results, double wall_seconds, int threads);

}  // namespace hdiff
