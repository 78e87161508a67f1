// `hdiff theory`: density-evolution predictions of the posterior mass at every
// level, the critical noise of class reconstruction, and the comparison with a
// measured phase experiment (SPEC §5).

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>

#include "cli/commands.h"
#include "cluster/cluster.h"
#include "cluster/unit_job.h"
#include "common/error.h"
#include "common/output.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "theory/comparison.h"
#include "theory/density_evolution.h"
#include "theory/critical_noise_summary.h"
#include "theory/mean_field.h"
#include "theory/scaling_report.h"
#include "theory/theory_report.h"
#include "theory/threshold.h"
#include "theory/threshold_grid.h"

namespace hdiff::cli {
namespace {

struct TheoryOptions {
  std::vector<int> v = {32};          // lists (several values) only with --threshold
  std::vector<int> n_classes = {32};
  std::vector<int> m = {8};
  std::vector<int> s = {2};
  std::vector<std::string> channel;   // empty: uniform, and --mean-field may tell that none was given
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
  std::string scaling;                 // --scaling RUN: the finite-size scaling fit of a phase run
  int bootstrap = 200;                 // --scaling's bootstrap replicas
  bool population_given = false;
  int threads = 0;
  bool resume = false;
  bool force = false;
  std::vector<std::string> given;  // the model options given on the command line (--v, --classes, --m, --s)
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One threshold search per model of the grid, each a work unit shared across ranks.
void run_threshold(const std::vector<TheoryParams>& grid, const TheoryOptions& options, std::optional<OutputDir>& out) {
  const auto start = std::chrono::steady_clock::now();
  const ThresholdOptions search{options.levels, options.tolerance};
  UnitJob job;
  job.plan = {"hdiff theory --threshold", options.out, threshold_run_identity(grid, search), {}, options.resume};
  for (const auto& params : grid)
    job.plan.costs.push_back(static_cast<double>(params.population) * params.v * params.m * params.s);
  // A single model keeps its probe log (it runs on rank 0); a grid shows a progress bar instead.
  if (grid.size() > 1) job.progress.assign(grid.size(), 1);
  job.progress_label = "hdiff theory";
  std::vector<ThresholdResult> results(grid.size());
  std::vector<double> walls(grid.size(), 0.0);
  double wall = 0;
  job.run_unit = [&](int64_t unit) {
    const TheoryParams& params = grid[static_cast<size_t>(unit)];
    const auto unit_start = std::chrono::steady_clock::now();
    int probes = 0;
    const ThresholdResult result = find_threshold(params, search, [&](const ThresholdProbe& probe) {
      ++probes;
      if (grid.size() == 1)
        fmt::print(stderr, "  probe {:2d}: {} = {:.6f}  {:13s} after {:3d} levels  D = {:.4f} ± {:.4f}\n", probes,
                   noise_symbol(params.channel), probe.noise, outcome_name(probe.outcome), probe.levels_run,
                   probe.information, probe.information_se);
    });
    return encode_threshold(result, seconds_since(unit_start));
  };
  job.take_result = [&](int64_t unit, const std::string& bytes) {
    results[static_cast<size_t>(unit)] = decode_threshold(bytes, search, walls[static_cast<size_t>(unit)]);
  };
  job.write = [&](OutputDir& dir, const UnitRunOutcome&) {
    wall = seconds_since(start);
    write_threshold_outputs(grid, search, results, walls, wall, dir);
  };
  job.report = [&](const OutputDir& dir, const UnitRunOutcome&) {
    if (grid.size() == 1) {
      fmt::print("{}wrote {} in {:.1f} s\n", threshold_summary(grid[0], search, results[0]),
                 (dir.dir() / "threshold.json").string(), walls[0]);
      return;
    }
    for (size_t i = 0; i < grid.size(); ++i)
      fmt::print("{} v={} classes={} m={} s={} (f = {:.4g}): critical {} = {:.6f}, interval [{:.6f}, {:.6f}]\n",
                 channel_name(grid[i].channel), grid[i].v, grid[i].n_classes, grid[i].m, grid[i].s,
                 production_fraction(grid[i]), noise_symbol(grid[i].channel), results[i].critical_noise,
                 results[i].interval_low, results[i].interval_high);
    fmt::print("wrote {} thresholds to {} in {:.1f} s\n", grid.size(), (dir.dir() / "threshold.csv").string(), wall);
  };
  // A search can take minutes and cannot stop half-way: Ctrl-C ends the process
  // at once, and the journal keeps the finished searches for --resume.
  run_unit_job(job, out);
}

// The model of `--compare`'s results: read from the file; the options given may only repeat it.
ComparedModel compared_model(const std::filesystem::path& results, const TheoryOptions& options) {
  const auto given = [&](const char* name) {
    return std::find(options.given.begin(), options.given.end(), name) != options.given.end();
  };
  GivenModel model;
  if (given("--v")) model.v = options.v[0];
  if (given("--classes")) model.n_classes = options.n_classes[0];
  if (given("--m")) model.m = options.m[0];
  if (given("--s")) model.s = options.s[0];
  if (!options.channel.empty()) model.channel = parse_channel(options.channel[0]);
  return choose_compared_model(phase_result_models(results), model, results);
}

void run_predictions(const TheoryParams& params, const TheoryOptions& options, const std::filesystem::path& results,
                     OutputDir& out) {
  const ComparedModel model{params.v, params.n_classes, params.m, params.s, params.channel};
  std::vector<MeasuredPoint> measured;
  if (!results.empty()) {
    measured = read_phase_results(results, model);
    fmt::print("comparing with {} ({}: {} class-level points)\n", results.string(), model_text(model), measured.size());
  }
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
  const PredictionComparison comparison{model, measured};
  const auto deviation = write_prediction_outputs(params, grid, table, wall, thread_count(),
                                                  options.compare.empty() ? nullptr : &comparison, out);
  if (deviation)
    fmt::print("{}", deviation_summary(*deviation, params.channel));
  else if (!options.compare.empty())
    fmt::print("no measured point of {} shares an (L, noise) with the predictions; figure drawn, no deviation\n",
               results.string());
  out.commit();
  fmt::print("predicted {} noise levels × depths {} (population {}) in {:.2f} s; wrote {}\n", grid.noise.size(),
             fmt::join(grid.depths, ","), params.population, wall, (out.dir() / "theory.csv").string());
}

void run_theory(const TheoryOptions& options) {
  set_thread_count(options.threads);
  TheoryParams params;
  params.population = options.population;
  params.replicas = options.replicas;
  params.seed = options.seed;
  std::vector<TheoryParams> grid;
  std::filesystem::path results;  // --compare's results.csv
  std::optional<OutputDir> out;
  // Every rank checks the request; rank 0 alone writes, so it alone checks --out.
  cluster::agree([&] {
    ThresholdGridLists lists{{}, options.v, options.n_classes, options.m, options.s};
    for (const auto& name : options.channel) lists.channels.push_back(parse_channel(name));
    if (lists.channels.empty()) lists.channels.push_back(Channel::uniform);
    const bool several = lists.channels.size() * lists.v.size() * lists.n_classes.size() * lists.m.size() * lists.s.size() > 1;
    if (several && !options.threshold)
      fail("lists of --v, --classes, --m, --s or --channel are for --threshold (a phase diagram); give one value each "
           "for --noise, --compare or --mean-field");
    params.v = lists.v[0];
    params.n_classes = lists.n_classes[0];
    params.m = lists.m[0];
    params.s = lists.s[0];
    params.channel = lists.channels[0];
    if (!options.scaling.empty()) {
      if (options.threshold || options.mean_field || !options.noise.empty() || !options.compare.empty() || options.resume)
        fail("--scaling cannot be combined with --threshold, --mean-field, --noise, --compare or --resume; run them "
             "separately");
      if (several) fail("--scaling reads one model from the run; give at most one value each of --v, --classes, --m, --s, --channel");
      if (options.population_given && (options.population < 100 || options.population > (int64_t{1} << 32)))
        fail("--population must lie in [100, 2^32], got {}", options.population);
      validate(ScalingOptions{2, 1e-3, 0.25, 8, 201, 61, options.bootstrap, 0.95, options.seed});
      open_unit_output(out, options.out, false, options.force, "hdiff theory");
      return;
    }
    if (!options.compare.empty() && !several && !options.threshold && !options.mean_field) {
      results = phase_results_path(options.compare);
      const ComparedModel model = compared_model(results, options);
      params.v = model.v;
      params.n_classes = model.n_classes;
      params.m = model.m;
      params.s = model.s;
      params.channel = model.channel;
    }
    if (options.threshold) {
      grid = threshold_grid(params, lists);
      validate(ThresholdOptions{options.levels, options.tolerance});  // before the run's journal exists
    } else
      validate(params);
    const bool have_noise = !options.noise.empty();
    if (options.mean_field && (options.threshold || have_noise || !options.compare.empty() || !options.depths.empty()))
      fail("--mean-field cannot be combined with --threshold, --noise, --depths or --compare; run them separately");
    if (options.mean_field && !options.channel.empty() && params.channel != Channel::soft)
      fail("--mean-field is the theory of the soft channel (the papers' epsilon-process), not {}; give --channel soft "
           "or no --channel", options.channel[0]);
    if (options.threshold && (have_noise || !options.compare.empty()))
      fail("--threshold cannot be combined with --noise or --compare; run them separately");
    if (options.threshold && !options.depths.empty())
      fail("--depths has no effect with --threshold, which iterates --levels levels; drop --depths or set --levels");
    if (options.resume && !options.threshold)
      fail("--resume continues an unfinished --threshold run; the other modes are quick to rerun");
    if (!options.mean_field && !options.threshold && !have_noise && options.compare.empty())
      fail("nothing to compute; give --noise E1,E2,... (predictions), --threshold (critical noise), --mean-field, "
           "--compare results.csv or --scaling RUN");
    open_unit_output(out, options.out, options.resume, options.force, "hdiff theory");  // checks --out before any work
  });
  if (options.threshold) return run_threshold(grid, options, out);
  if (!options.scaling.empty()) {
    if (!cluster::is_root()) return;
    ScalingRequest request;
    request.run = options.scaling;
    const auto given = [&](const char* name) {
      return std::find(options.given.begin(), options.given.end(), name) != options.given.end();
    };
    if (given("--v")) request.given.v = options.v[0];
    if (given("--classes")) request.given.n_classes = options.n_classes[0];
    if (given("--m")) request.given.m = options.m[0];
    if (given("--s")) request.given.s = options.s[0];
    if (!options.channel.empty()) request.given.channel = parse_channel(options.channel[0]);
    request.depths = options.depths;
    request.fit.bootstrap = options.bootstrap;
    request.fit.seed = options.seed;
    request.population = options.population_given ? options.population : kSummaryPopulation;
    return run_scaling(request, *out);
  }
  // The other modes are one process's work: rank 0 does it, the others are done.
  if (!cluster::is_root()) return;
  if (options.mean_field)
    run_mean_field({params.v, params.n_classes, params.m, params.s}, *out);
  else
    run_predictions(params, options, results, *out);
}

}  // namespace

void add_theory_command(CLI::App& app) {
  auto options = std::make_shared<TheoryOptions>();
  auto* command = app.add_subcommand(
      "theory",
      "Density evolution on the annealed tree: with --noise, DIR/theory.csv of the predicted posterior mass at every "
      "level; with --threshold, the critical noise and its interval in DIR/threshold.json, threshold.csv and the "
      "phase diagram (lists of v, classes, m, s, channel: one search per combination, shared across MPI ranks); "
      "with --compare RUN, theory "
      "over a measured phase experiment (its model, noise levels and depths read from RUN/results.csv) in "
      "DIR/comparison.png/.svg; with --mean-field, the soft channel's mean-field "
      "map in DIR/mean_field.json; with --scaling RUN, the finite-size scaling fit of a phase run's class curves over "
      "several L (critical noise and nu with bootstrap intervals, beside mean field and density evolution) in "
      "DIR/scaling.json and collapse.png, and the correlation length of its changes in DIR/correlation_length.csv");
  command->add_option("--v", options->v, "vocabulary size v (with --threshold: a comma-separated list)")
      ->delimiter(',')->capture_default_str();
  command->add_option("--classes", options->n_classes, "number of classes (with --threshold: a list)")
      ->delimiter(',')->capture_default_str();
  command->add_option("--m", options->m, "productions per symbol m (with --threshold: a list)")
      ->delimiter(',')->capture_default_str();
  command->add_option("--s", options->s, "children per production s (with --threshold: a list)")
      ->delimiter(',')->capture_default_str();
  command->add_option("--channel", options->channel,
                      "noise channel: uniform (the default), mask, gaussian or soft (with --threshold: a list)")
      ->delimiter(',');
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
                      "the output folder (or its results.csv) of `hdiff phase`: overlay the theory on its class "
                      "agreement; v, classes, m, s and channel are read from it (options given must agree), and the "
                      "noise levels and depths too unless --noise or --depths is given");
  command->add_option("--scaling", options->scaling,
                      "the output folder (or its results.csv) of `hdiff phase` over several L: fit the critical noise "
                      "and nu by collapsing the class curves against (noise - critical)*s^(L/nu) (nu as in "
                      "--mean-field); intervals from a parametric bootstrap of the rows' standard errors; --depths "
                      "picks the L used, --seed seeds the bootstrap, --population sets density evolution's (default "
                      "10000)");
  command->add_option("--bootstrap", options->bootstrap, "bootstrap replicas of --scaling (0: no intervals)")
      ->capture_default_str();
  command->add_option("--threads", options->threads, "threads (0 = all cores)")->capture_default_str();
  command->add_flag("--resume", options->resume,
                    "continue the unfinished --threshold run in --out (its journal in .NAME.unfinished)");
  add_force_flag(*command, options->force);
  command->callback([options, command] {
    for (const char* name : {"--v", "--classes", "--m", "--s"})
      if (command->count(name) > 0) options->given.emplace_back(name);
    options->population_given = command->count("--population") > 0;
    run_theory(*options);
  });
}

}  // namespace hdiff::cli
