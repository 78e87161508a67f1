// The phase experiment and the theory in Python. The tables are produced by the
// same code that writes the CLI's CSV files, and hdiff/_tables.py turns them into
// NumPy columns, so that the values are those of the files.

#include <pybind11/stl.h>

#include <chrono>

#include "bindings.h"
#include "common/error.h"
#include "common/input_file.h"
#include "experiment/phase.h"
#include "experiment/phase_report.h"
#include "experiment/phase_units.h"
#include "theory/theory_report.h"

namespace hdiff::python {
namespace {

// Calls a Python progress(done, total) with the GIL, on the calling thread (the
// hooks of run_phase and the theory run there). After the callback raised once,
// its exception travels up and the callback is not called again.
struct ProgressReporter {
  py::object callback;  // None: no progress
  py::object total;     // an int, or None when unknown (threshold probes)
  int64_t done = 0;
  bool raised = false;

  void advance(int64_t step) {
    done += step;
    if (callback.is_none() || raised) return;
    py::gil_scoped_acquire gil;
    raised = true;
    callback(done, total);
    raised = false;
  }
};

// Runs the experiment of a TOML config (empty: the default) and returns its CSV tables.
py::dict phase_tables(const std::string& text, const std::string& source, int threads, const py::object& progress) {
  const PhaseConfig config = text.empty() ? parse_phase_config(kDefaultPhaseConfig, "default config")
                                          : parse_phase_config(text, source);
  // Progress counts samples × trajectories, as the CLI's bar does.
  ProgressReporter reporter{progress, py::int_(static_cast<int64_t>(phase_units({config}).size()) * config.samples *
                                               config.trajectories)};
  ThreadScope thread_scope(threads);
  PhaseResults results;
  std::string results_csv, conditional, changes, correlations, information;
  // Ctrl-C is seen between units of work: Python's handler only sets a flag
  // while the GIL is released, and the hook raises KeyboardInterrupt from it.
  const std::function<void()> check_signals = python_signal_check();
  without_gil([&] {
    results = run_phase(config, [&](int64_t step) {
      check_signals();
      reporter.advance(step);
    });
    results_csv = phase_csv(config, results);
    conditional = conditional_csv(config, results);
    changes = changes_csv(config, results);
    correlations = correlations_csv(config, results);
    information = information_csv(config, results);
  });
  py::dict tables;
  tables["results"] = results_csv;
  tables["conditional"] = conditional;
  tables["changes"] = changes;
  tables["correlations"] = correlations;
  tables["information"] = information;
  return tables;
}

TheoryParams theory_params(int v, int classes, int m, int s, const std::string& channel, int64_t population,
                           int replicas, uint64_t seed) {
  TheoryParams params;
  params.v = v;
  params.n_classes = classes;
  params.m = m;
  params.s = s;
  params.channel = parse_channel(channel);
  params.population = population;
  params.replicas = replicas;
  params.seed = seed;
  validate(params);
  return params;
}

// theory.csv of `hdiff theory --noise ... --depths ...`.
std::string theory_predict(std::vector<double> noise, std::vector<int> depths, int v, int classes, int m, int s,
                           const std::string& channel, int64_t population, int replicas, uint64_t seed, int threads,
                           const py::object& progress) {
  const TheoryParams params = theory_params(v, classes, m, s, channel, population, replicas, seed);
  if (noise.empty())
    fail("nothing to compute; give --noise E1,E2,... (predictions), --threshold (critical noise), --mean-field or "
         "--compare results.csv");
  const PredictionGrid grid = prediction_grid(params, std::move(noise), std::move(depths), {});
  ProgressReporter reporter{progress, py::int_(grid.noise.size())};
  ThreadScope thread_scope(threads);
  const std::function<void()> check_signals = python_signal_check();
  return without_gil([&] {
    return predict_table(params, grid, [&] {
             check_signals();
             reporter.advance(1);
           }).csv;
  });
}

// threshold.json of `hdiff theory --threshold`, as JSON text.
std::string theory_threshold(int v, int classes, int m, int s, const std::string& channel, int64_t population,
                             int replicas, int levels, double tolerance, uint64_t seed, int threads,
                             const py::object& progress) {
  const TheoryParams params = theory_params(v, classes, m, s, channel, population, replicas, seed);
  const ThresholdOptions options{levels, tolerance};
  ProgressReporter reporter{progress, py::none()};  // the number of probes is not known in advance
  ThreadScope thread_scope(threads);
  const std::function<void()> check_signals = python_signal_check();
  return without_gil([&] {
    const auto start = std::chrono::steady_clock::now();
    const ThresholdResult result = find_threshold(params, options, [&](const ThresholdProbe&) {
      check_signals();
      reporter.advance(1);
    });
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return threshold_json(params, options, result, wall).dump();
  });
}

}  // namespace

void register_experiment(py::module_& module) {
  module.def(
      "_read_config", [](const std::string& path) { return read_input_file(path, "config", kMaxConfigBytes); },
      py::arg("path"), "The text of a config file, read as `hdiff phase --config` reads it (regular files only).");
  module.def("_phase_tables", &phase_tables, py::arg("text"), py::arg("source"), py::arg("threads") = 0,
             py::arg("progress") = py::none(),
             "The CSV tables of the phase experiment of a TOML config text (empty: the default); see hdiff.phase.");
  module.def("_theory_predict", &theory_predict, py::arg("noise"), py::arg("depths"), py::arg("v"), py::arg("classes"),
             py::arg("m"), py::arg("s"), py::arg("channel"), py::arg("population"), py::arg("replicas"),
             py::arg("seed"), py::arg("threads"), py::arg("progress") = py::none(),
             "theory.csv as text; see hdiff.theory.predict.");
  module.def("_theory_threshold", &theory_threshold, py::arg("v"), py::arg("classes"), py::arg("m"), py::arg("s"),
             py::arg("channel"), py::arg("population"), py::arg("replicas"), py::arg("levels"), py::arg("tolerance"),
             py::arg("seed"), py::arg("threads"), py::arg("progress") = py::none(),
             "threshold.json as text; see hdiff.theory.threshold.");
  module.attr("DEFAULT_PHASE_CONFIG") = kDefaultPhaseConfig;
}

}  // namespace hdiff::python
