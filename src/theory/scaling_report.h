#pragma once
// `hdiff theory --scaling RUN`: the finite-size scaling fit of a phase run's
// class curves (theory/scaling.h) and the correlation length of its changes
// (theory/correlation_length.h), written beside the theories' values.
//
// Writes, in the output folder: scaling.json (critical_noise,
// critical_noise_interval, nu, nu_interval, the channel, depths, method, the
// mean-field and density-evolution values), collapse.dat and the figure
// collapse.png/.svg/.pdf, and, when the run has a correlations.csv with
// token-level rows, correlation_length.csv and correlation_length.png/.svg/.pdf.
// Every input error is an Error before anything is written.

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/output.h"
#include "theory/comparison.h"
#include "theory/correlation_length.h"
#include "theory/scaling.h"

namespace hdiff {

// What `hdiff theory --scaling` was asked.
struct ScalingRequest {
  std::filesystem::path run;   // a phase output folder, or its results.csv
  GivenModel given;            // the model options given (they may only repeat the file's)
  std::vector<int> depths;     // the depths to fit; empty: all of the file's
  ScalingOptions fit;          // s is set from the model
  int64_t population = 10000;  // density evolution's population for the theory value beside the fit
};

// The theories' values beside a fit; each empty with a reason where it does not apply.
struct ScalingTheory {
  bool mean_field = false;
  double mean_field_critical_noise = 0, mean_field_nu = 0;
  std::string mean_field_note;  // why not, when it does not apply
  bool density_evolution = false;
  double density_evolution_critical_noise = 0, density_evolution_low = 0, density_evolution_high = 0;
  std::string density_evolution_note;
};

// The theories for `model`: mean field (soft only) and density evolution with `population`.
ScalingTheory scaling_theory(const ComparedModel& model, int64_t population);

// The content of scaling.json.
nlohmann::json scaling_json(const ScalingRequest& request, const ComparedModel& model, const std::vector<int>& depths,
                            const ScalingFit& fit, const std::vector<ScalingFit>& without_smallest,
                            const ScalingTheory& theory, const std::filesystem::path& source);

// The lines printed: the fit beside the theories.
std::string scaling_summary(const ComparedModel& model, const std::vector<int>& depths, const ScalingFit& fit,
                            const ScalingTheory& theory);

// The table of ξ printed (rows: noise, columns: L).
std::string correlation_length_table(const std::vector<CorrelationLength>& lengths);

// Runs the whole command into `out` (committed at the end).
void run_scaling(const ScalingRequest& request, OutputDir& out);

}  // namespace hdiff
