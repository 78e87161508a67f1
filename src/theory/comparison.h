#pragma once
// Theory beside experiment: reads the class agreement measured by `hdiff phase`
// (results.csv) and sets the density-evolution predictions against it.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/gnuplot.h"
#include "noise/channel.h"

namespace hdiff {

// One measured class-level point of results.csv (level 0).
struct MeasuredPoint {
  int L = 0;
  double noise = 0;         // ε, or ᾱ for gaussian
  double agreement = 0;     // class agreement A_0
  double agreement_se = 0;
};

// The model a results.csv must match.
struct ComparedModel {
  int v = 0;
  int n_classes = 0;
  int m = 0;
  int s = 0;
  Channel channel = Channel::uniform;
  bool operator==(const ComparedModel&) const = default;
};

// "v=8 classes=8 m=2 s=2 uniform": a model as messages name it.
std::string model_text(const ComparedModel& model);

// The results.csv `hdiff phase` wrote in the folder `path`, or `path` itself when
// it is not a folder.
std::filesystem::path phase_results_path(const std::filesystem::path& path);

// The models a phase results.csv holds rows of, each once, in the file's order;
// Error when the file is unreadable, lacks a column or holds a bad number (as
// read_phase_results), or holds no row.
std::vector<ComparedModel> phase_result_models(const std::filesystem::path& path);

// The parts of a model given on the command line; unset: not given.
struct GivenModel {
  std::optional<int> v, n_classes, m, s;
  std::optional<Channel> channel;
};

// The one model of `models` (those of the results file `source`) that agrees
// with everything given: the model is read from the results, and options may
// only repeat it. Error, naming the option and what the file holds, when a
// given value contradicts every model, when no model agrees with all of them,
// or when several models remain (asking to choose one).
ComparedModel choose_compared_model(const std::vector<ComparedModel>& models, const GivenModel& given,
                                    const std::filesystem::path& source);

// Reads the level-0 rows of a phase results.csv whose v, n_classes, m, s and
// channel match `model`; Error when the file is unreadable, lacks a column, or
// holds no matching row (naming what it does hold).
std::vector<MeasuredPoint> read_phase_results(const std::filesystem::path& path, const ComparedModel& model);

// A prediction of the class posterior mass at one (L, noise).
struct ClassPrediction {
  int L = 0;
  double noise = 0;
  double mass = 0;
  double mass_se = 0;
};

// One measured point beside its prediction.
struct ComparedPoint {
  MeasuredPoint measured;
  ClassPrediction predicted;
  double deviation = 0;  // predicted mass − measured agreement
};

// Pairs every measured point with the prediction at the same L and noise
// (noise equal within 1e-9); unpaired points are left out.
std::vector<ComparedPoint> pair_points(const std::vector<MeasuredPoint>& measured,
                                       const std::vector<ClassPrediction>& predicted);

// Writes DIR/comparison.dat (one gnuplot block per L) and returns the gnuplot
// script that draws comparison.png, .svg and .pdf from it (the shared figure
// style, with the chance line 1/classes); `mean_field`, when not empty, adds
// the mean-field class beliefs (soft channel) as dashed curves.
FigureScript comparison_figure(const std::vector<ComparedPoint>& points, const std::vector<ClassPrediction>& predicted,
                              const ComparedModel& model, const std::filesystem::path& data_path,
                              const std::vector<ClassPrediction>& mean_field = {});

}  // namespace hdiff
