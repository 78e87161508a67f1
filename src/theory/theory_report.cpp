// The reports of `hdiff theory`, apart from the CLI so that the Python module
// writes the same files.

#include "theory/theory_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/memory.h"
#include "common/version.h"
#include "noise/schedule.h"
#include "theory/mean_field.h"
#include "theory/threshold_grid.h"

namespace hdiff {

const char* noise_symbol(Channel channel) { return channel == Channel::gaussian ? "alpha-bar" : "epsilon"; }

nlohmann::json theory_model_json(const TheoryParams& params) {
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

namespace {

// Critical times of the critical noise and of its interval, per schedule.
nlohmann::json critical_times(Channel channel, const ThresholdResult& result) {
  nlohmann::json times;
  for (const std::string schedule : {"linear", "cosine"}) {
    const double t = critical_time(channel, schedule, result.critical_noise);
    const double t1 = critical_time(channel, schedule, result.interval_low);
    const double t2 = critical_time(channel, schedule, result.interval_high);
    times[schedule] = {{"time", t}, {"interval", {std::min(t1, t2), std::max(t1, t2)}}};
  }
  return times;
}

}  // namespace

nlohmann::json threshold_json(const TheoryParams& params, const ThresholdOptions& options,
                              const ThresholdResult& result, double wall_seconds) {
  nlohmann::json json = theory_model_json(params);
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
  json["critical_time"] = critical_times(params.channel, result);
  nlohmann::json probe_list = nlohmann::json::array();
  for (const auto& probe : result.probes)
    probe_list.push_back({{"noise", probe.noise},
                          {"outcome", outcome_name(probe.outcome)},
                          {"levels_run", probe.levels_run},
                          {"information", probe.information},
                          {"information_se", probe.information_se}});
  json["probes"] = probe_list;
  json["wall_seconds"] = wall_seconds;
  return json;
}

void write_threshold_outputs(const std::vector<TheoryParams>& grid, const ThresholdOptions& options,
                             const std::vector<ThresholdResult>& results, const std::vector<double>& search_seconds,
                             double wall_seconds, OutputDir& out) {
  nlohmann::json all = nlohmann::json::array();
  for (size_t i = 0; i < grid.size(); ++i)
    all.push_back(threshold_json(grid[i], options, results[i], search_seconds[i]));
  nlohmann::json record = grid.size() == 1 ? all[0] : nlohmann::json{{"wall_seconds", wall_seconds}};
  record["thresholds"] = all;
  out.write("threshold.json", record.dump(2) + "\n");
  out.write("threshold.csv", threshold_csv(grid, options, results));
  run_gnuplot(phase_diagram_script(grid, results), out.staged(""), "phase_diagram.gp");
}

std::string threshold_summary(const TheoryParams& params, const ThresholdOptions& options,
                              const ThresholdResult& result) {
  std::string text;
  if (result.never_reconstructed)
    text += fmt::format("the class is lost even from a nearly noiseless start (fixed-point information {:.4f})\n",
                        result.fixed_point_information);
  text += fmt::format("critical {} = {:.6f}, interval [{:.6f}, {:.6f}] ({} levels, population {}, {} probes)\n",
                      noise_symbol(params.channel), result.critical_noise, result.interval_low, result.interval_high,
                      options.levels, params.population, result.probes.size());
  const nlohmann::json times = critical_times(params.channel, result);
  for (const std::string schedule : {"linear", "cosine"})
    text += fmt::format("critical time ({} schedule, T = {}): t* = {:.2f}, interval [{:.2f}, {:.2f}]\n", schedule,
                        kDiffusionSteps, times[schedule]["time"].get<double>(),
                        times[schedule]["interval"][0].get<double>(), times[schedule]["interval"][1].get<double>());
  return text;
}

PredictionGrid prediction_grid(const TheoryParams& params, std::vector<double> noise, std::vector<int> depths,
                               const std::vector<MeasuredPoint>& measured) {
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
  return {noise, depths};
}

PredictionTable predict_table(const TheoryParams& params, const PredictionGrid& grid,
                              const std::function<void()>& after_each_noise) {
  PredictionTable table;
  table.csv = "v,n_classes,m,s,channel,noise,L,level,posterior_mass,posterior_mass_se,population\n";
  for (double level : grid.noise) {
    for (const auto& row : predict_levels(params, level, grid.depths)) {
      table.csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{}\n", params.v, params.n_classes, params.m, params.s,
                               channel_name(params.channel), level, row.L, row.level, row.posterior_mass,
                               row.posterior_mass_se, params.population);
      if (row.level == 0)
        table.class_predictions.push_back({row.L, level, row.posterior_mass, row.posterior_mass_se});
    }
    if (after_each_noise) after_each_noise();
  }
  return table;
}

std::optional<LargestDeviation> largest_deviation(const std::vector<ComparedPoint>& points) {
  if (points.empty()) return std::nullopt;
  const auto worst = *std::max_element(points.begin(), points.end(), [](const auto& a, const auto& b) {
    return std::fabs(a.deviation) < std::fabs(b.deviation);
  });
  const double combined = std::hypot(worst.measured.agreement_se, worst.predicted.mass_se);
  return LargestDeviation{worst, combined > 0 ? std::fabs(worst.deviation) / combined : 0.0, points.size()};
}

std::string deviation_summary(const LargestDeviation& deviation, Channel channel) {
  const ComparedPoint& worst = deviation.point;
  return fmt::format("largest deviation |theory - measured class agreement| = {:.4f} at L = {}, {} = {} "
                     "(theory {:.4f} ± {:.4f}, measured {:.4f} ± {:.4f}; {:.1f} standard errors) over {} points\n",
                     std::fabs(worst.deviation), worst.measured.L, noise_symbol(channel), worst.measured.noise,
                     worst.predicted.mass, worst.predicted.mass_se, worst.measured.agreement,
                     worst.measured.agreement_se, deviation.standard_errors, deviation.points);
}

nlohmann::json deviation_json(const LargestDeviation& deviation) {
  return {{"deviation", std::fabs(deviation.point.deviation)},
          {"L", deviation.point.measured.L},
          {"noise", deviation.point.measured.noise},
          {"points", deviation.points}};
}

std::optional<LargestDeviation> write_prediction_outputs(const TheoryParams& params, const PredictionGrid& grid,
                                                         const PredictionTable& table, double wall_seconds,
                                                         int threads, const PredictionComparison* comparison,
                                                         OutputDir& out) {
  out.write("theory.csv", table.csv);
  nlohmann::json run = theory_model_json(params);
  run["noise"] = grid.noise;
  run["depths"] = grid.depths;
  run["wall_seconds"] = wall_seconds;
  run["threads"] = threads;
  std::optional<LargestDeviation> deviation;
  if (comparison) {
    const auto points = pair_points(comparison->measured, table.class_predictions);
    const FigureScript script =
        comparison_figure(points, table.class_predictions, comparison->model, out.staged("comparison.dat"),
                          mean_field_overlay(comparison->model, grid.noise, grid.depths));
    run_gnuplot(script, out.staged("comparison.dat").parent_path());
    deviation = largest_deviation(points);
    if (deviation) run["largest_deviation"] = deviation_json(*deviation);
  }
  out.write("run.json", run.dump(2) + "\n");
  return deviation;
}

}  // namespace hdiff
