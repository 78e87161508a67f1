#include "theory/scaling_report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "common/error.h"
#include "common/gnuplot.h"
#include "common/version.h"
#include "theory/density_evolution.h"
#include "theory/mean_field.h"
#include "theory/theory_report.h"
#include "theory/threshold.h"

namespace hdiff {
namespace {

const char* noise_quantity(Channel channel) { return channel == Channel::gaussian ? "alpha_bar" : "epsilon"; }
const char* noise_label(Channel channel) { return channel == Channel::gaussian ? "ᾱ" : "ε"; }

std::vector<int> depths_of(const std::vector<ScalingPoint>& points) {
  std::set<int> depths;
  for (const auto& point : points) depths.insert(point.L);
  return {depths.begin(), depths.end()};
}

// collapse.dat (one block per L: x, A_0, se, noise) and the script of collapse.png.
FigureScript collapse_figure(const std::vector<ScalingPoint>& points, const ComparedModel& model, const ScalingFit& fit,
                             const std::filesystem::path& data_path) {
  const std::vector<int> depths = depths_of(points);
  std::string data = fmt::format("# x = (noise - {}) * {}^(L / {}); one block per L: x agreement agreement_se noise\n",
                                 fit.best.critical_noise, model.s, fit.best.nu);
  for (int L : depths) {
    std::vector<ScalingPoint> curve;
    for (const auto& point : points)
      if (point.L == L) curve.push_back(point);
    std::sort(curve.begin(), curve.end(), [](const auto& a, const auto& b) { return a.noise < b.noise; });
    data += fmt::format("# L={}\n", L);
    for (const auto& point : curve)
      data += fmt::format("{} {} {} {}\n", scaling_variable(point.noise, L, model.s, fit.best), point.value, point.se,
                          point.noise);
    data += "\n\n";
  }
  write_file_atomic(data_path, data);
  std::string titles;
  for (int L : depths) titles += fmt::format("{} ", L);
  // The x-range of the smallest depth, which every deeper curve covers: the
  // deepest curves' far points would squeeze the transition into a line.
  double x_low = HUGE_VAL, x_high = -HUGE_VAL;
  for (const auto& point : points)
    if (point.L == depths.front()) {
      x_low = std::min(x_low, scaling_variable(point.noise, point.L, model.s, fit.best));
      x_high = std::max(x_high, scaling_variable(point.noise, point.L, model.s, fit.best));
    }
  const std::string file = gnuplot_quote(data_path.filename().string());
  const std::string plot = fmt::format(
      "depths = \"{}\"\n"
      "set xlabel {}\nset ylabel \"class agreement A_0\"\nset yrange [0:1.02]\nset xrange [{}:{}]\n"
      "set title {} noenhanced\n"
      "plot for [i=1:{}] {} index (i-1) using 1:2:3 with yerrorlines lt i title sprintf('L = %s', word(depths, i))\n",
      titles,
      gnuplot_quote(fmt::format("({} − {}*)·{}^{{L/ν}}", noise_label(model.channel), noise_label(model.channel), model.s)),
      x_low, x_high,
      gnuplot_quote(fmt::format("collapse: {}* = {:.4f}, ν = {:.3f} ({} noise, v = {}, classes = {}, m = {}, s = {})",
                                noise_label(model.channel), fit.best.critical_noise, fit.best.nu,
                                channel_name(model.channel), model.v, model.n_classes, model.m, model.s)),
      depths.size(), file);
  FigureScript script{"# hdiff theory --scaling: the collapse of the class curves, from collapse.dat\n" + figure_style(), {}};
  add_figure(script, "collapse", plot);
  return script;
}

// correlation_length.dat (one block per L: noise, ξ, se) and the script of correlation_length.png.
FigureScript correlation_length_figure(const std::vector<CorrelationLength>& lengths, const ComparedModel& model,
                                       const std::filesystem::path& data_path) {
  std::set<int> depths;
  for (const auto& row : lengths) depths.insert(row.L);
  std::string data = "# one block per L: noise xi xi_se\n";
  std::string titles;
  for (int L : depths) {
    data += fmt::format("# L={}\n", L);
    for (const auto& row : lengths)
      if (row.L == L) data += fmt::format("{} {} {}\n", row.noise, row.xi, row.xi_se);
    data += "\n\n";
    titles += fmt::format("{} ", L);
  }
  write_file_atomic(data_path, data);
  const std::string plot = fmt::format(
      "depths = \"{}\"\n"
      "set xlabel {}\nset ylabel \"correlation length ξ (levels of common-ancestor height)\"\n"
      "set title {} noenhanced\nset yrange [0:*]\n"
      "plot for [i=1:{}] {} index (i-1) using 1:2:3 with yerrorlines lt i title sprintf('L = %s', word(depths, i))\n",
      titles, gnuplot_quote(model.channel == Channel::gaussian ? "signal level ᾱ" : "noise level ε"),
      gnuplot_quote(fmt::format("C(h) ∝ exp(−h/ξ) of the token changes ({} noise, v = {}, classes = {}, m = {}, s = {})",
                                channel_name(model.channel), model.v, model.n_classes, model.m, model.s)),
      depths.size(), gnuplot_quote(data_path.filename().string()));
  FigureScript script{"# hdiff theory --scaling: the correlation length, from correlation_length.dat\n" + figure_style(), {}};
  add_figure(script, "correlation_length", plot);
  return script;
}

nlohmann::json interval(double low, double high) { return nlohmann::json::array({low, high}); }

}  // namespace

ScalingTheory scaling_theory(const ComparedModel& model, int64_t population) {
  ScalingTheory theory;
  if (model.channel == Channel::soft) {
    try {
      const MeanFieldResult result = solve_mean_field({model.v, model.n_classes, model.m, model.s});
      theory.mean_field = true;
      theory.mean_field_critical_noise = result.critical_noise;
      theory.mean_field_nu = result.nu;
    } catch (const Error& e) {
      theory.mean_field_note = e.what();
    }
  } else {
    theory.mean_field_note = "the mean-field map is the theory of the soft channel only";
  }
  try {
    TheoryParams params{model.v, model.n_classes, model.m, model.s, model.channel};
    params.population = population;
    const ThresholdResult result = find_threshold(params, ThresholdOptions{});
    if (result.never_reconstructed) {
      theory.density_evolution_note = "the class is lost even at the smallest noise";
    } else {
      theory.density_evolution = true;
      theory.density_evolution_critical_noise = result.critical_noise;
      theory.density_evolution_low = result.interval_low;
      theory.density_evolution_high = result.interval_high;
    }
  } catch (const Error& e) {
    theory.density_evolution_note = e.what();
  }
  return theory;
}

nlohmann::json scaling_json(const ScalingRequest& request, const ComparedModel& model, const std::vector<int>& depths,
                            const ScalingFit& fit, const std::vector<ScalingFit>& without_smallest,
                            const ScalingTheory& theory, const std::filesystem::path& source) {
  nlohmann::json out{
      {"critical_noise", fit.best.critical_noise},
      {"critical_noise_interval", interval(fit.critical_noise_low, fit.critical_noise_high)},
      {"nu", fit.best.nu},
      {"nu_interval", interval(fit.nu_low, fit.nu_high)},
      {"lambda", std::pow(static_cast<double>(model.s), 1 / fit.best.nu)},
      {"nu_at_search_edge", fit.nu_at_edge},
      {"channel", channel_name(model.channel)},
      {"noise_quantity", noise_quantity(model.channel)},
      {"v", model.v},
      {"n_classes", model.n_classes},
      {"m", model.m},
      {"s", model.s},
      {"depths", depths},
      {"collapse_quality", fit.quality.quality},
      {"collapse_terms", fit.quality.terms},
      {"method",
       {{"scaling_form", "A_0(noise; L) = f(x), x = (noise - critical_noise) * s^(L/nu): nu as in theory --mean-field "
                         "(nu = log s / log lambda, lambda the growth of a deviation per level)"},
        {"quality", "Houdayer-Hartmann: mean over points and over the other curves covering them of "
                    "(A - interpolation)^2 / (se^2 + se_interpolation^2), se floored at se_floor"},
        {"search", fmt::format("grid of {} critical noises over the measured range x {} nu log-spaced in [{}, {}], then "
                               "Nelder-Mead on (critical_noise, log nu)",
                               request.fit.noise_grid, request.fit.nu_grid, request.fit.nu_low, request.fit.nu_high)},
        {"interval", "parametric bootstrap: results.csv holds the mean over grammar seeds and its standard error (with "
                     "the spread between grammars), not each grammar's value, so each replica redraws every point as "
                     "agreement + N(0, agreement_se^2) and is refitted; the central share `confidence` of the replicas"},
        {"bootstrap_replicas", request.fit.bootstrap},
        {"confidence", request.fit.confidence},
        {"seed", request.fit.seed},
        {"se_floor", request.fit.se_floor}}},
      {"source", source.string()},
      {"hdiff_version", version()},
      {"git_commit", git_commit()}};
  nlohmann::json systematic = nlohmann::json::array();
  for (const auto& other : without_smallest) {
    // The depths of each refit are listed beside it by the caller's order: dropping the smallest each time.
    systematic.push_back({{"critical_noise", other.best.critical_noise}, {"nu", other.best.nu}});
  }
  for (size_t i = 0; i < systematic.size(); ++i)
    systematic[i]["depths"] = std::vector<int>(depths.begin() + static_cast<std::ptrdiff_t>(i + 1), depths.end());
  out["without_smallest_depths"] = systematic;
  out["mean_field"] = theory.mean_field
                          ? nlohmann::json{{"critical_noise", theory.mean_field_critical_noise}, {"nu", theory.mean_field_nu}}
                          : nlohmann::json{{"note", theory.mean_field_note}};
  out["density_evolution"] =
      theory.density_evolution
          ? nlohmann::json{{"critical_noise", theory.density_evolution_critical_noise},
                           {"critical_noise_interval", interval(theory.density_evolution_low, theory.density_evolution_high)},
                           {"population", request.population}}
          : nlohmann::json{{"note", theory.density_evolution_note}};
  return out;
}

std::string scaling_summary(const ComparedModel& model, const std::vector<int>& depths, const ScalingFit& fit,
                            const ScalingTheory& theory) {
  const char* symbol = model.channel == Channel::gaussian ? "alpha-bar*" : "epsilon*";
  std::string out = fmt::format("finite-size scaling of {} (L = {}), x = (noise - {}) * {}^(L/nu):\n", model_text(model),
                                fmt::join(depths, ","), symbol, model.s);
  out += fmt::format("  {:<20} {:>10} {:>22} {:>8} {:>20}\n", "", symbol, "interval", "nu", "interval");
  out += fmt::format("  {:<20} {:>10.4f} [{:>8.4f}, {:>8.4f}] {:>8.3f} [{:>7.3f}, {:>7.3f}]\n", "collapse (exact BP)",
                     fit.best.critical_noise, fit.critical_noise_low, fit.critical_noise_high, fit.best.nu, fit.nu_low,
                     fit.nu_high);
  if (theory.mean_field)
    out += fmt::format("  {:<20} {:>10.4f} {:>22} {:>8.3f}\n", "mean field", theory.mean_field_critical_noise, "",
                       theory.mean_field_nu);
  else
    out += fmt::format("  {:<20} does not apply: {}\n", "mean field", theory.mean_field_note);
  if (theory.density_evolution)
    out += fmt::format("  {:<20} {:>10.4f} [{:>8.4f}, {:>8.4f}] {:>8}\n", "density evolution",
                       theory.density_evolution_critical_noise, theory.density_evolution_low,
                       theory.density_evolution_high, "-");
  else
    out += fmt::format("  {:<20} does not apply: {}\n", "density evolution", theory.density_evolution_note);
  out += fmt::format("  collapse quality {:.3g} (mean of {} terms; about 1 when the curves agree within their errors)\n",
                     fit.quality.quality, fit.quality.terms);
  if (fit.nu_at_edge) out += "  note: nu lies at an end of the searched range; the collapse does not fix it\n";
  return out;
}

std::string correlation_length_table(const std::vector<CorrelationLength>& lengths) {
  std::set<int> depths;
  std::set<double> noises;
  std::map<std::pair<int, double>, const CorrelationLength*> at;
  for (const auto& row : lengths) {
    depths.insert(row.L);
    noises.insert(row.noise);
    at[{row.L, row.noise}] = &row;
  }
  std::string out = "correlation length xi (levels of common-ancestor height; C(h) ~ exp(-h/xi))\n";
  out += fmt::format("{:>10}", "noise");
  for (int L : depths) out += fmt::format("{:>9}", fmt::format("L={}", L));
  out += "\n";
  for (double noise : noises) {
    out += fmt::format("{:>10.4g}", noise);
    for (int L : depths) {
      const auto found = at.find({L, noise});
      out += found == at.end() ? fmt::format("{:>9}", "-") : fmt::format("{:>9.3f}", found->second->xi);
    }
    out += "\n";
  }
  return out;
}

void run_scaling(const ScalingRequest& request, OutputDir& out) {
  const std::filesystem::path results = phase_results_path(request.run);
  const ComparedModel model = choose_compared_model(phase_result_models(results), request.given, results);
  std::vector<ScalingPoint> points;
  for (const auto& point : read_phase_results(results, model)) {
    if (!request.depths.empty() && std::find(request.depths.begin(), request.depths.end(), point.L) == request.depths.end())
      continue;
    points.push_back({point.L, point.noise, point.agreement, point.agreement_se});
  }
  std::vector<int> depths = depths_of(points);
  for (int L : request.depths)
    if (std::find(depths.begin(), depths.end(), L) == depths.end())
      fail("--depths asks for L = {}, which {} holds no class-level row of", L, results.string());
  ScalingOptions options = request.fit;
  options.s = model.s;
  const ScalingFit fit = fit_scaling(points, options);

  // The systematic check: the same fit without the smallest depth, then the two smallest, while three remain.
  std::vector<ScalingFit> without_smallest;
  ScalingOptions quick = options;
  quick.bootstrap = 0;
  for (size_t drop = 1; depths.size() - drop >= 3; ++drop) {
    std::vector<ScalingPoint> kept;
    for (const auto& point : points)
      if (point.L >= depths[drop]) kept.push_back(point);
    without_smallest.push_back(fit_scaling(kept, quick));
  }

  // The correlation length, when the run wrote its correlations.
  const std::filesystem::path correlations = results.parent_path() / "correlations.csv";
  std::vector<CorrelationLength> lengths;
  std::error_code missing;
  const bool have_correlations = std::filesystem::exists(correlations, missing);
  if (have_correlations) lengths = fit_correlation_lengths(read_token_correlations(correlations, model));

  const ScalingTheory theory = scaling_theory(model, request.population);
  out.write("scaling.json", scaling_json(request, model, depths, fit, without_smallest, theory, results).dump(2) + "\n");
  run_gnuplot(collapse_figure(points, model, fit, out.staged("collapse.dat")), out.staged("collapse.dat").parent_path(),
              "collapse.gp");
  if (!lengths.empty()) {
    out.write("correlation_length.csv", correlation_length_csv(lengths));
    run_gnuplot(correlation_length_figure(lengths, model, out.staged("correlation_length.dat")),
                out.staged("correlation_length.dat").parent_path(), "correlation_length.gp");
  }
  out.commit();
  fmt::print("{}", scaling_summary(model, depths, fit, theory));
  for (size_t i = 0; i < without_smallest.size(); ++i)
    fmt::print("  without L < {}: {} = {:.4f}, nu = {:.3f}\n", depths[i + 1],
               model.channel == Channel::gaussian ? "alpha-bar*" : "epsilon*", without_smallest[i].best.critical_noise,
               without_smallest[i].best.nu);
  if (!lengths.empty())
    fmt::print("{}", correlation_length_table(lengths));
  else
    fmt::print("no correlation length: {}\n", have_correlations ? "no token-level correlation decays in "
                                                                   "correlations.csv"
                                                                 : correlations.string() + " is missing");
  fmt::print("wrote {}\n", (out.dir() / "scaling.json").string());
}

}  // namespace hdiff
