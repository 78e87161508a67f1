// `hdiff theory`: density-evolution predictions of the posterior mass at every
// level, the critical noise of class reconstruction, and the comparison with a
// measured phase experiment (SPEC §5).

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>

#include "cli/commands.h"
#include "common/error.h"
#include "common/gnuplot.h"
#include "common/output.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "theory/comparison.h"
#include "theory/density_evolution.h"
#include "theory/mean_field.h"
#include "theory/theory_report.h"
#include "theory/threshold.h"

namespace hdiff::cli {
namespace {

struct TheoryOptions {
  int v = 32;
  int n_classes = 32;
  int m = 8;
  int s = 2;
  std::string channel;  // empty: uniform, and --mean-field may tell that none was given
  std::vector<double> noise;
  bool threshold = false;
  bool mean_field = false;
  std::vector<int> depths;
  int64_t population = 100000;
  int replicas = 16;
  int levels = 40;
  double tolerance = 1e-3;
  uint64_t seed = 0;
  std::string out = "theory";
  std::string compare;
  int threads = 0;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void run_threshold(const TheoryParams& params, const TheoryOptions& options, OutputDir& out) {
  const auto start = std::chrono::steady_clock::now();
  const ThresholdOptions search{options.levels, options.tolerance};
  int probes = 0;
  const ThresholdResult result = find_threshold(params, search, [&](const ThresholdProbe& probe) {
    ++probes;
    fmt::print(stderr, "  probe {:2d}: {} = {:.6f}  {:13s} after {:3d} levels  D = {:.4f} ± {:.4f}\n", probes,
               noise_symbol(params.channel), probe.noise, outcome_name(probe.outcome), probe.levels_run,
               probe.information, probe.information_se);
  });
  const double wall = seconds_since(start);
  out.write("threshold.json", threshold_json(params, search, result, wall).dump(2) + "\n");
  out.commit();
  fmt::print("{}wrote {} in {:.1f} s\n", threshold_summary(params, search, result),
             (out.dir() / "threshold.json").string(), wall);
}

void run_predictions(const TheoryParams& params, const TheoryOptions& options, OutputDir& out) {
  const ComparedModel model{params.v, params.n_classes, params.m, params.s, params.channel};
  std::vector<MeasuredPoint> measured;
  if (!options.compare.empty()) measured = read_phase_results(options.compare, model);
  const PredictionGrid grid = prediction_grid(params, options.noise, options.depths, measured);

  const auto start = std::chrono::steady_clock::now();
  install_interrupt_handler();
  PredictionTable table;
  {
    ProgressBar progress(static_cast<int64_t>(grid.noise.size()), "hdiff theory");
    table = predict_table(params, grid, [&] {
      if (interrupted()) fail("interrupted by Ctrl-C before all noise levels were done; nothing was written");
      progress.advance();
    });
    progress.finish();
  }
  const double wall = seconds_since(start);
  out.write("theory.csv", table.csv);
  nlohmann::json run = theory_model_json(params);
  run["noise"] = grid.noise;
  run["depths"] = grid.depths;
  run["wall_seconds"] = wall;
  run["threads"] = thread_count();

  if (!options.compare.empty()) {
    const auto points = pair_points(measured, table.class_predictions);
    const std::string script = comparison_figure(points, table.class_predictions, model,
                                                 out.staged("comparison.dat"),
                                                 mean_field_overlay(model, grid.noise, grid.depths));
    run_gnuplot(script, out.staged("comparison.dat").parent_path());
    if (const auto deviation = largest_deviation(points)) {
      fmt::print("{}", deviation_summary(*deviation, params.channel));
      run["largest_deviation"] = deviation_json(*deviation);
    } else {
      fmt::print("no measured point of {} shares an (L, noise) with the predictions; figure drawn, no deviation\n",
                 options.compare);
    }
  }
  out.write("run.json", run.dump(2) + "\n");
  out.commit();
  fmt::print("predicted {} noise levels × depths {} (population {}) in {:.2f} s; wrote {}\n", grid.noise.size(),
             fmt::join(grid.depths, ","), params.population, wall, (out.dir() / "theory.csv").string());
}

void run_theory(const TheoryOptions& options) {
  set_thread_count(options.threads);
  TheoryParams params;
  params.v = options.v;
  params.n_classes = options.n_classes;
  params.m = options.m;
  params.s = options.s;
  params.channel = parse_channel(options.channel.empty() ? "uniform" : options.channel);
  params.population = options.population;
  params.replicas = options.replicas;
  params.seed = options.seed;
  validate(params);
  const bool have_noise = !options.noise.empty();
  if (options.mean_field && (options.threshold || have_noise || !options.compare.empty() || !options.depths.empty()))
    fail("--mean-field cannot be combined with --threshold, --noise, --depths or --compare; run them separately");
  if (options.mean_field && !options.channel.empty() && params.channel != Channel::soft)
    fail("--mean-field is the theory of the soft channel (the papers' epsilon-process), not {}; give --channel soft "
         "or no --channel", options.channel);
  if (options.threshold && (have_noise || !options.compare.empty()))
    fail("--threshold cannot be combined with --noise or --compare; run them separately");
  if (options.threshold && !options.depths.empty())
    fail("--depths has no effect with --threshold, which iterates --levels levels; drop --depths or set --levels");
  if (!options.mean_field && !options.threshold && !have_noise && options.compare.empty())
    fail("nothing to compute; give --noise E1,E2,... (predictions), --threshold (critical noise), --mean-field or "
         "--compare results.csv");
  OutputDir out(options.out);  // checks that --out is writable before any work
  if (options.mean_field)
    run_mean_field({params.v, params.n_classes, params.m, params.s}, out);
  else if (options.threshold)
    run_threshold(params, options, out);
  else
    run_predictions(params, options, out);
}

}  // namespace

void add_theory_command(CLI::App& app) {
  auto options = std::make_shared<TheoryOptions>();
  auto* command = app.add_subcommand(
      "theory",
      "Density evolution on the annealed tree: with --noise, DIR/theory.csv of the predicted posterior mass at every "
      "level; with --threshold, the critical noise and its interval in DIR/threshold.json; with --compare, theory "
      "over a measured phase experiment in DIR/comparison.png/.svg; with --mean-field, the soft channel's mean-field "
      "map in DIR/mean_field.json");
  command->add_option("--v", options->v, "vocabulary size v")->capture_default_str();
  command->add_option("--classes", options->n_classes, "number of classes")->capture_default_str();
  command->add_option("--m", options->m, "productions per symbol m")->capture_default_str();
  command->add_option("--s", options->s, "children per production s")->capture_default_str();
  command->add_option("--channel", options->channel, "noise channel: uniform (the default), mask, gaussian or soft");
  command->add_option("--noise", options->noise,
                      "noise levels: epsilon in [0,1] (alpha-bar in [0,1) for gaussian), comma separated")
      ->delimiter(',');
  command->add_flag("--threshold", options->threshold, "find the critical noise by bisection");
  command->add_flag("--mean-field", options->mean_field,
                    "the papers' mean-field map of the soft channel: p*, epsilon*, slopes and nu");
  command->add_option("--depths", options->depths, "tree depths L, comma separated (default 2,4,6,8)")
      ->delimiter(',');
  command->add_option("--population", options->population, "messages per level")->capture_default_str();
  command->add_option("--replicas", options->replicas, "independent replicas the population is split into")
      ->capture_default_str();
  command->add_option("--levels", options->levels, "most levels iterated per noise level by --threshold")
      ->capture_default_str();
  command->add_option("--tolerance", options->tolerance, "bisection tolerance of --threshold")->capture_default_str();
  command->add_option("--seed", options->seed, "seed of the population draws")->capture_default_str();
  command->add_option("--out", options->out, "output folder")->capture_default_str();
  command->add_option("--compare", options->compare,
                      "results.csv of `hdiff phase`: overlay the theory on its class agreement");
  command->add_option("--threads", options->threads, "threads (0 = all cores)")->capture_default_str();
  command->callback([options] { run_theory(*options); });
}

}  // namespace hdiff::cli
