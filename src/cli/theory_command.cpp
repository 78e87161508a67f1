// `hdiff theory`: density-evolution predictions of the posterior mass at every
// level, the critical noise of class reconstruction, and the comparison with a
// measured phase experiment (SPEC §5).

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "cli/commands.h"
#include "common/error.h"
#include "common/gnuplot.h"
#include "common/memory.h"
#include "common/output.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "noise/schedule.h"
#include "theory/comparison.h"
#include "theory/density_evolution.h"
#include "theory/mean_field.h"
#include "theory/threshold.h"
#include "common/version.h"

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

const char* noise_symbol(Channel channel) { return channel == Channel::gaussian ? "alpha-bar" : "epsilon"; }

nlohmann::json model_json(const TheoryParams& params) {
  return {{"v", params.v},
          {"n_classes", params.n_classes},
          {"m", params.m},
          {"s", params.s},
          {"channel", channel_name(params.channel)},
          {"noise_quantity", params.channel == Channel::gaussian ? "alpha_bar" : "epsilon"},
          {"population", params.population},
          {"replicas", params.replicas},
          {"seed", params.seed},
          {"hdiff_version", version()},
          {"git_commit", git_commit()}};
}

void run_threshold(const TheoryParams& params, const TheoryOptions& options, OutputDir& out) {
  const auto start = std::chrono::steady_clock::now();
  ThresholdOptions search{options.levels, options.tolerance};
  int probes = 0;
  const ThresholdResult result = find_threshold(params, search, [&](const ThresholdProbe& probe) {
    ++probes;
    fmt::print(stderr, "  probe {:2d}: {} = {:.6f}  {:13s} after {:3d} levels  D = {:.4f} ± {:.4f}\n", probes,
               noise_symbol(params.channel), probe.noise, outcome_name(probe.outcome), probe.levels_run,
               probe.information, probe.information_se);
  });
  const double wall = seconds_since(start);

  nlohmann::json json = model_json(params);
  json["critical_noise"] = result.critical_noise;
  json["interval"] = {result.interval_low, result.interval_high};
  json["levels"] = options.levels;
  json["tolerance"] = options.tolerance;
  json["fixed_point_information"] = result.fixed_point_information;
  json["never_reconstructed"] = result.never_reconstructed;
  json["interval_definition"] =
      "low: the noisiest probe at which every replica settled near the informative fixed point within `levels` "
      "levels; high: the least noisy probe at which every replica settled near the trivial one (for alpha-bar the "
      "order is reversed); both refined by bisection to `tolerance`";
  nlohmann::json times;
  for (const std::string schedule : {"linear", "cosine"}) {
    const double t = critical_time(params.channel, schedule, result.critical_noise);
    const double t1 = critical_time(params.channel, schedule, result.interval_low);
    const double t2 = critical_time(params.channel, schedule, result.interval_high);
    times[schedule] = {{"time", t}, {"interval", {std::min(t1, t2), std::max(t1, t2)}}};
  }
  json["critical_time"] = times;
  nlohmann::json probe_list = nlohmann::json::array();
  for (const auto& probe : result.probes)
    probe_list.push_back({{"noise", probe.noise},
                          {"outcome", outcome_name(probe.outcome)},
                          {"levels_run", probe.levels_run},
                          {"information", probe.information},
                          {"information_se", probe.information_se}});
  json["probes"] = probe_list;
  json["wall_seconds"] = wall;
  out.write("threshold.json", json.dump(2) + "\n");
  out.commit();

  if (result.never_reconstructed)
    fmt::print("the class is lost even from a nearly noiseless start (fixed-point information {:.4f})\n",
               result.fixed_point_information);
  fmt::print("critical {} = {:.6f}, interval [{:.6f}, {:.6f}] ({} levels, population {}, {} probes)\n",
             noise_symbol(params.channel), result.critical_noise, result.interval_low, result.interval_high,
             options.levels, params.population, result.probes.size());
  for (const std::string schedule : {"linear", "cosine"})
    fmt::print("critical time ({} schedule, T = {}): t* = {:.2f}, interval [{:.2f}, {:.2f}]\n", schedule,
               kDiffusionSteps, times[schedule]["time"].get<double>(), times[schedule]["interval"][0].get<double>(),
               times[schedule]["interval"][1].get<double>());
  fmt::print("wrote {} in {:.1f} s\n", (out.dir() / "threshold.json").string(), wall);
}

void run_predictions(const TheoryParams& params, const TheoryOptions& options, OutputDir& out) {
  ComparedModel model{params.v, params.n_classes, params.m, params.s, params.channel};
  std::vector<MeasuredPoint> measured;
  if (!options.compare.empty()) measured = read_phase_results(options.compare, model);

  // Noise levels and depths: as given, else those of the measured experiment.
  std::vector<double> noise = options.noise;
  std::vector<int> depths = options.depths;
  if (noise.empty())
    for (const auto& point : measured) noise.push_back(point.noise);
  if (depths.empty()) {
    for (const auto& point : measured) depths.push_back(point.L);
    if (depths.empty()) depths = {2, 4, 6, 8};
  }
  std::sort(noise.begin(), noise.end());
  noise.erase(std::unique(noise.begin(), noise.end()), noise.end());
  std::sort(depths.begin(), depths.end());
  depths.erase(std::unique(depths.begin(), depths.end()), depths.end());
  for (double level : noise) validate(NoiseSpec{params.channel, level});
  for (int L : depths)
    if (L < 1 || L > 10000) fail("depth L = {} in --depths is out of range; give depths between 1 and 10000", L);
  check_memory(prediction_bytes(params, depths.back()), "the density-evolution populations",
               "lower --population or the largest depth");

  const auto start = std::chrono::steady_clock::now();
  install_interrupt_handler();
  std::string csv = "v,n_classes,m,s,channel,noise,L,level,posterior_mass,posterior_mass_se,population\n";
  std::vector<ClassPrediction> class_predictions;
  {
    ProgressBar progress(static_cast<int64_t>(noise.size()), "hdiff theory");
    for (double level : noise) {
      if (interrupted()) fail("interrupted by Ctrl-C before all noise levels were done; nothing was written");
      for (const auto& row : predict_levels(params, level, depths)) {
        csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{}\n", params.v, params.n_classes, params.m, params.s,
                           channel_name(params.channel), level, row.L, row.level, row.posterior_mass,
                           row.posterior_mass_se, params.population);
        if (row.level == 0) class_predictions.push_back({row.L, level, row.posterior_mass, row.posterior_mass_se});
      }
      progress.advance();
    }
    progress.finish();
  }
  const double wall = seconds_since(start);
  out.write("theory.csv", csv);
  nlohmann::json run = model_json(params);
  run["noise"] = noise;
  run["depths"] = depths;
  run["wall_seconds"] = wall;
  run["threads"] = thread_count();

  if (!options.compare.empty()) {
    const auto points = pair_points(measured, class_predictions);
    const std::string script = comparison_figure(points, class_predictions, model, out.staged("comparison.dat"),
                                                 mean_field_overlay(model, noise, depths));
    run_gnuplot(script, out.staged("comparison.dat").parent_path());
    if (points.empty()) {
      fmt::print("no measured point of {} shares an (L, noise) with the predictions; figure drawn, no deviation\n",
                 options.compare);
    } else {
      const auto worst = *std::max_element(points.begin(), points.end(), [](const auto& a, const auto& b) {
        return std::fabs(a.deviation) < std::fabs(b.deviation);
      });
      const double combined = std::hypot(worst.measured.agreement_se, worst.predicted.mass_se);
      fmt::print("largest deviation |theory - measured class agreement| = {:.4f} at L = {}, {} = {} "
                 "(theory {:.4f} ± {:.4f}, measured {:.4f} ± {:.4f}; {:.1f} standard errors) over {} points\n",
                 std::fabs(worst.deviation), worst.measured.L, noise_symbol(params.channel), worst.measured.noise,
                 worst.predicted.mass, worst.predicted.mass_se, worst.measured.agreement, worst.measured.agreement_se,
                 combined > 0 ? std::fabs(worst.deviation) / combined : 0.0, points.size());
      run["largest_deviation"] = {{"deviation", std::fabs(worst.deviation)},
                                  {"L", worst.measured.L},
                                  {"noise", worst.measured.noise},
                                  {"points", points.size()}};
    }
  }
  out.write("run.json", run.dump(2) + "\n");
  out.commit();
  fmt::print("predicted {} noise levels × depths {} (population {}) in {:.2f} s; wrote {}\n", noise.size(),
             fmt::join(depths, ","), params.population, wall, (out.dir() / "theory.csv").string());
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
