// The figures of `hdiff phase`, drawn by gnuplot from a script that carries its
// data inline, so that figures.gp redraws them on its own.

#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "common/error.h"
#include "common/gnuplot.h"
#include "experiment/phase_report.h"
#include "noise/schedule.h"
#include "theory/mean_field.h"
#include "theory/threshold.h"

namespace hdiff {
namespace {

// An inline gnuplot data block `$name`: x, mean and standard error of
// `value(row)` for every row that has one, and how many rows did.
struct DataBlock {
  std::string text;
  int points = 0;
};

double x_of(const PhaseConfig& config, size_t noise_index) {
  const auto& point = config.noise[noise_index];
  return point.time ? *point.time : point.level;
}

template <typename Value>
DataBlock data_block(const std::string& name, const PhaseConfig& config, const PhaseResults& results, Value value) {
  DataBlock block{"$" + name + " << EOD\n", 0};
  for (const auto& row : results.rows) {
    const std::optional<Estimate> estimate = value(row);
    if (!estimate) continue;
    block.text += fmt::format("{} {} {}\n", x_of(config, row.noise_index), estimate->mean, estimate->standard_error);
    ++block.points;
  }
  block.text += "EOD\n";
  return block;
}

// The curves of one figure, as a gnuplot plot list.
struct Plots {
  std::string list;
  int curves_with_data = 0;
};

// Adds the curve of `block` (named `name`) to `plots`, unless it has no point
// (gnuplot fails on a plot with no valid point at all).
void add_curve(Plots& plots, const std::string& name, const DataBlock& block, const std::string& style,
               const std::string& title) {
  if (block.points == 0) return;
  plots.list += fmt::format("{}${} using 1:2:3 with yerrorlines {} title {}", plots.list.empty() ? "" : ", \\\n  ",
                            name, style, gnuplot_quote(title));
  ++plots.curves_with_data;
}

// A reference line (function of x) drawn after the curves.
void add_line(Plots& plots, const std::string& function, const std::string& title) {
  plots.list += fmt::format("{}{} with lines lw 1.5 dt 3 lc rgb '#666666' title {}", plots.list.empty() ? "" : ", \\\n  ",
                            function, gnuplot_quote(title));
}

// The critical point marked on the figures: where, and its key entry.
struct CriticalMarker {
  double x = 0;
  std::string title;
};

// The class reconstruction threshold for the run's model, on its noise axis.
// Density evolution (`hdiff theory --threshold`) takes seconds to minutes, too
// long for a figure; the closed mean-field theory takes microseconds but holds
// only for the soft channel (the ε-process), so only soft runs get the marker.
std::optional<CriticalMarker> critical_marker(const PhaseConfig& config) {
  if (config.channel != Channel::soft) return std::nullopt;
  const MeanFieldModel model{config.v, config.n_classes, config.m, config.s};
  try {
    const double epsilon = solve_mean_field(model).critical_noise;
    if (!config.schedule) return CriticalMarker{epsilon, fmt::format("ε* = {:.3f} (mean field)", epsilon)};
    const double time = critical_time(config.channel, schedule_name(*config.schedule), epsilon);
    return CriticalMarker{time, fmt::format("t* = {:.0f} (mean-field ε* = {:.3f})", time, epsilon)};
  } catch (const Error&) {
    return std::nullopt;  // no transition for this grammar (or none the schedule reaches): nothing to mark
  }
}

// The commands that draw the marker as a dashed vertical line with a key entry,
// or the key entry alone where it lies outside the measured noise.
std::string marker_commands(const std::optional<CriticalMarker>& marker, double low, double high, Plots& plots) {
  if (!marker) return "";
  const bool inside = marker->x >= low && marker->x <= high;
  plots.list += fmt::format("{}NaN with lines lw 1.5 dt 2 lc rgb '#333333' title {}", plots.list.empty() ? "" : ", \\\n  ",
                            gnuplot_quote(inside ? marker->title : marker->title + ", beyond the measured range"));
  if (!inside) return "";
  return fmt::format("set arrow from {0}, graph 0 to {0}, graph 1 nohead lw 1.5 dt 2 lc rgb '#333333'\n", marker->x);
}

// The commands of one figure: labels, then either its curves or, where no curve
// has a point, a centred note saying why over an empty frame of the noise range.
std::string figure_commands(const std::string& y_label, const std::string& y_range, const std::string& title,
                            const Plots& plots, const std::string& extra, const std::string& undefined_why,
                            double low, double high) {
  std::string text = fmt::format("set ylabel {}\nset title {} noenhanced\n", gnuplot_quote(y_label), gnuplot_quote(title));
  if (plots.curves_with_data > 0) return text + fmt::format("set yrange {}\n{}plot {}\n", y_range, extra, plots.list);
  if (high <= low) {  // one noise level: a frame around it
    const double half_width = 0.05 * std::max(1.0, std::fabs(low));
    low -= half_width;
    high += half_width;
  }
  return text + fmt::format("set label 1 {} at graph 0.5, graph 0.5 center\nset yrange [0:1]\nplot [{}:{}] 2 notitle\n",
                            gnuplot_quote(undefined_why), low, high);
}

// Why χ_L has no value at any noise level, in the config's terms.
std::string undefined_susceptibility(const PhaseConfig& config) {
  if (config.trajectories == 1 && config.samples * static_cast<int64_t>(config.grammar_seeds.size()) == 1)
    return "χ_L undefined: one sample with one trajectory has no covariance of token changes";
  return fmt::format("χ_L undefined at every noise level: no token's change varies across {} "
                     "(try more samples, trajectories or noise)",
                     config.trajectories > 1 ? "the trajectories of a sample" : "the samples");
}

}  // namespace

bool plot_phase(const PhaseConfig& config, const PhaseResults& results, const OutputDir& out) {
  return plot_phase(config, results, out.staged(""));
}

bool plot_phase(const PhaseConfig& config, const PhaseResults& results, const std::filesystem::path& folder) {
  if (results.rows.empty()) return false;
  const bool by_time = config.schedule.has_value();
  const std::string x_label = by_time ? fmt::format("diffusion time t ({} schedule)", schedule_name(*config.schedule))
                              : config.channel == Channel::gaussian ? "signal level ᾱ"
                                                                    : "noise level ε";
  const std::string title = fmt::format("{} noise, v = {}, classes = {}, m = {}, s = {}", channel_name(config.channel),
                                        config.v, config.n_classes, config.m, config.s);
  double low = x_of(config, 0), high = low;
  for (size_t i = 0; i < config.noise.size(); ++i) {
    low = std::min(low, x_of(config, i));
    high = std::max(high, x_of(config, i));
  }
  const auto marker = critical_marker(config);
  int largest_L = 0;
  for (const auto& row : results.rows) largest_L = std::max(largest_L, row.L);
  std::vector<int> done_depths;
  for (int L : config.depths)
    if (std::any_of(results.rows.begin(), results.rows.end(), [&](const PhaseRow& r) { return r.L == L; }))
      done_depths.push_back(L);

  FigureScript script{"# hdiff phase figures: run `gnuplot figures.gp` in this folder to redraw them\n" + figure_style(),
                      {}};
  auto add_block = [&](const std::string& name, auto value) {
    DataBlock block = data_block(name, config, results, value);
    script.text += block.text;
    return block;
  };
  Plots class_plots, level_plots, conditional_plots, susceptibility_plots, information_plots, speciation_plots;
  for (size_t k = 0; k < done_depths.size(); ++k) {
    const int L = done_depths[k];
    auto rows_of = [L](int level) { return [L, level](const PhaseRow& r) { return r.L == L && r.level == level; }; };
    const std::string depth = fmt::format("L = {}", L);
    add_curve(class_plots, fmt::format("class_L{}", L), add_block(fmt::format("class_L{}", L), [&](const PhaseRow& r) {
                return rows_of(0)(r) ? std::optional(r.agreement) : std::nullopt;
              }), series_style(k), depth);
    add_curve(conditional_plots, fmt::format("changed_L{}", L),
              add_block(fmt::format("changed_L{}", L),
                        [&](const PhaseRow& r) { return rows_of(L)(r) ? r.changed.agreement : std::nullopt; }),
              series_style(k), depth + ", class changed");
    add_curve(conditional_plots, fmt::format("kept_L{}", L),
              add_block(fmt::format("kept_L{}", L),
                        [&](const PhaseRow& r) { return rows_of(L)(r) ? r.kept.agreement : std::nullopt; }),
              series_style(k, true), depth + ", class kept");
    // Speciation: two posterior draws share the class (solid) beside one draw keeping it (dashed).
    add_curve(speciation_plots, fmt::format("same_class_L{}", L),
              add_block(fmt::format("same_class_L{}", L),
                        [&](const PhaseRow& r) {
                          return rows_of(0)(r) ? std::optional(r.information.same_symbol) : std::nullopt;
                        }),
              series_style(k), depth + ": two draws share it");
    add_curve(speciation_plots, fmt::format("class_again_L{}", L),
              add_block(fmt::format("class_again_L{}", L),
                        [&](const PhaseRow& r) { return rows_of(0)(r) ? std::optional(r.agreement) : std::nullopt; }),
              series_style(k, true), depth + ": a draw keeps it");
    add_curve(susceptibility_plots, fmt::format("chi_L{}", L),
              add_block(fmt::format("chi_L{}", L),
                        [&](const PhaseRow& r) { return rows_of(L)(r) ? r.changes.susceptibility : std::nullopt; }),
              series_style(k), depth);
  }
  for (int level = 0; level <= largest_L; ++level)
    add_curve(level_plots, fmt::format("level_{}", level),
              add_block(fmt::format("level_{}", level),
                        [&](const PhaseRow& r) {
                          return r.L == largest_L && r.level == level ? std::optional(r.agreement) : std::nullopt;
                        }),
              series_style(static_cast<size_t>(level)),
              fmt::format("level {}{}", level, level == 0 ? " (class)" : level == largest_L ? " (tokens)" : ""));
  // I(z_ℓ; x_t)/H(z_ℓ) at every level of the largest L (undefined where H(z_ℓ) = 0: one class).
  for (int level = 0; level <= largest_L; ++level)
    add_curve(information_plots, fmt::format("information_{}", level),
              add_block(fmt::format("information_{}", level),
                        [&](const PhaseRow& r) -> std::optional<Estimate> {
                          if (r.L != largest_L || r.level != level || !(r.information.prior_entropy > 0))
                            return std::nullopt;
                          const double h = r.information.prior_entropy;
                          return Estimate{r.information.mutual_information.mean / h,
                                          r.information.mutual_information.standard_error / h};
                        }),
              series_style(static_cast<size_t>(level)),
              fmt::format("level {}{}", level,
                          level == 0           ? " (class)"
                          : level == largest_L ? " (tokens)"
                                               : ""));
  const std::string class_marker = marker_commands(marker, low, high, class_plots);
  add_line(class_plots, fmt::format("{}", 1.0 / config.n_classes), fmt::format("chance 1/classes = {:.3g}", 1.0 / config.n_classes));
  add_line(conditional_plots, fmt::format("{}", 1.0 / config.v), fmt::format("chance 1/v = {:.3g}", 1.0 / config.v));
  const std::string susceptibility_marker = marker_commands(marker, low, high, susceptibility_plots);

  script.text += fmt::format("set xlabel {}\n", gnuplot_quote(x_label));
  add_figure(script, "class_agreement",
             figure_commands("class agreement A_0", "[0:1.02]", "Class kept after forward-backward: " + title,
                             class_plots, class_marker, "", low, high));
  add_figure(script, "level_agreement",
             figure_commands("agreement A_ℓ at every level ℓ", "[0:1.02]",
                             fmt::format("Every level at L = {}: {}", largest_L, title), level_plots, "", "", low, high));
  add_figure(script, "conditional_agreement",
             figure_commands("token agreement A_L given the class outcome", "[0:1.02]",
                             "New class, old details: " + title, conditional_plots, "",
                             "no trajectory measured a class outcome", low, high));
  add_figure(script, "information",
             figure_commands("I(z_ℓ; x_t) / H(z_ℓ)", "[0:1.02]",
                             fmt::format("Information per level at L = {}: {}", largest_L, title), information_plots,
                             "", "no level has prior entropy (one class, one symbol)", low, high));
  const std::string speciation_marker = marker_commands(marker, low, high, speciation_plots);
  add_figure(script, "speciation",
             figure_commands("probability of the class", "[0:1.02]", "Speciation: " + title, speciation_plots,
                             speciation_marker, "", low, high));
  add_figure(script, "token_susceptibility",
             figure_commands("token susceptibility χ_L", "[0:*]", "Correlated token changes: " + title,
                             susceptibility_plots, susceptibility_marker, undefined_susceptibility(config), low, high));
  try {
    return run_gnuplot(script, folder, "figures.gp");
  } catch (const FileError& e) {
    throw FileError(std::string(e.what()) + "; nothing was written, the results are kept: the same command with "
                                            "--resume finishes the run");
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + "; nothing was written, the results are kept: the same command with "
                                        "--resume finishes the run");
  }
}

}  // namespace hdiff
