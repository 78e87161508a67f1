#pragma once
// What `hdiff theory` (and the Python module) reports, computed here so that
// every front end gives the same numbers and files: the model description of
// its JSON files, the critical noise as threshold.json, the prediction grid and
// theory.csv, and the largest deviation from a measured phase experiment.

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/output.h"
#include "theory/comparison.h"
#include "theory/density_evolution.h"
#include "theory/threshold.h"

namespace hdiff {

// "epsilon", or "alpha-bar" for the gaussian channel: the name of the noise axis.
const char* noise_symbol(Channel channel);

// The model and population keys every theory JSON file starts with (with the hdiff version).
nlohmann::json theory_model_json(const TheoryParams& params);

// The content of threshold.json: the model, the critical noise, its interval,
// critical times for the linear and cosine schedules, and every probe.
nlohmann::json threshold_json(const TheoryParams& params, const ThresholdOptions& options,
                              const ThresholdResult& result, double wall_seconds);

// Writes what `hdiff theory --threshold` leaves in its output folder (staged in
// `out`): threshold.json, threshold.csv (one row per model, grid order) and the
// phase diagram. threshold.json has the same shape for one model as for a grid:
// `thresholds`, one threshold_json per model (with its own search's wall time),
// and `wall_seconds`, the run's; with one model it also keeps that model's
// fields at the top (the layout before grids existed; its `wall_seconds` is then
// the search's).
void write_threshold_outputs(const std::vector<TheoryParams>& grid, const ThresholdOptions& options,
                             const std::vector<ThresholdResult>& results, const std::vector<double>& search_seconds,
                             double wall_seconds, OutputDir& out);

// The lines `hdiff theory --threshold` prints about `result` (each ends in a newline).
std::string threshold_summary(const TheoryParams& params, const ThresholdOptions& options,
                              const ThresholdResult& result);

// Noise levels and depths of a prediction run, sorted and distinct.
struct PredictionGrid {
  std::vector<double> noise;
  std::vector<int> depths;
};

// The grid: the noise levels and depths given, else those of the measured
// points, else depths 2,4,6,8; each checked (Error naming the fix), and the
// memory of the deepest population checked.
PredictionGrid prediction_grid(const TheoryParams& params, std::vector<double> noise, std::vector<int> depths,
                               const std::vector<MeasuredPoint>& measured);

// theory.csv and the class-level predictions it holds.
struct PredictionTable {
  std::string csv;
  std::vector<ClassPrediction> class_predictions;
};

// Predicts every level of every depth at every noise level of `grid`;
// `after_each_noise` runs after each noise level (progress, interruption).
PredictionTable predict_table(const TheoryParams& params, const PredictionGrid& grid,
                              const std::function<void()>& after_each_noise = {});

// The measured point farthest from its prediction.
struct LargestDeviation {
  ComparedPoint point;
  double standard_errors = 0;  // |deviation| over the combined standard error (0 when both are 0)
  size_t points = 0;           // points compared
};

// The largest |theory − measured| over `points`; nothing when there are none.
std::optional<LargestDeviation> largest_deviation(const std::vector<ComparedPoint>& points);

// One line describing `deviation` (ends in a newline).
std::string deviation_summary(const LargestDeviation& deviation, Channel channel);

// The `largest_deviation` entry of run.json.
nlohmann::json deviation_json(const LargestDeviation& deviation);

// What a prediction run is compared with (--compare): the measured experiment's model and points.
struct PredictionComparison {
  ComparedModel model;
  std::vector<MeasuredPoint> measured;
};

// Writes what `hdiff theory --noise` (or --compare) leaves in its output folder
// (staged in `out`): theory.csv, run.json (the model, the grid, the wall time,
// the threads and, compared, the largest deviation) and, with a `comparison`,
// the comparison figure and its data. Returns the largest deviation (none
// without a comparison, or when no measured point shares an (L, noise)).
std::optional<LargestDeviation> write_prediction_outputs(const TheoryParams& params, const PredictionGrid& grid,
                                                         const PredictionTable& table, double wall_seconds,
                                                         int threads, const PredictionComparison* comparison,
                                                         OutputDir& out);

}  // namespace hdiff
