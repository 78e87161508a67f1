// The figures of `hdiff phase`, drawn by gnuplot from a script that carries its
// data inline, so that figures.gp redraws them on its own.

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "common/gnuplot.h"
#include "experiment/phase_report.h"
#include "noise/schedule.h"

namespace hdiff {
namespace {

// A colour between blue (t = 0) and red (t = 1), for curves ordered by depth.
std::string depth_colour(double t) {
  const int red = static_cast<int>(44 + t * (214 - 44));
  const int green = static_cast<int>(62 + t * (39 - 62) + 120 * t * (1 - t));
  const int blue = static_cast<int>(158 + t * (40 - 158));
  return fmt::format("#{:02x}{:02x}{:02x}", red, green, blue);
}

// An inline gnuplot data block `$name` with x, mean and standard error of
// `value(row)` for every row that has one.
template <typename Value>
std::string data_block(const std::string& name, const PhaseConfig& config, const PhaseResults& results, Value value) {
  std::string text = "$" + name + " << EOD\n";
  for (const auto& row : results.rows) {
    const std::optional<Estimate> estimate = value(row);
    if (!estimate) continue;
    const auto& point = config.noise[row.noise_index];
    text += fmt::format("{} {} {}\n", point.time ? *point.time : point.level, estimate->mean, estimate->standard_error);
  }
  return text + "EOD\n";
}

// The curves of a plot command `plots` with one more appended.
std::string curve(const std::string& plots, const std::string& block, const std::string& style, const std::string& title) {
  return plots + fmt::format("{}${} using 1:2:3 with yerrorlines {} title '{}'", plots.empty() ? "" : ", \\\n  ", block,
                             style, title);
}

// The PNG and SVG of one figure.
std::string figure(const std::string& name, const std::string& y_label, const std::string& y_range,
                   const std::string& plot_title, const std::string& plots) {
  std::string text;
  for (const auto& [terminal, extension] : {std::pair{"pngcairo size 1000,640 font ',11'", "png"},
                                            std::pair{"svg size 1000,640 dynamic font 'sans,12'", "svg"}}) {
    text += fmt::format("set terminal {}\nset output '{}.{}'\n", terminal, name, extension);
    text += fmt::format("set ylabel {}\nset yrange {}\nset title {}\n", gnuplot_quote(y_label), y_range,
                        gnuplot_quote(plot_title));
    text += "plot " + plots + "\nunset output\n";
  }
  return text;
}

}  // namespace

bool plot_phase(const PhaseConfig& config, const PhaseResults& results, const OutputDir& out) {
  return plot_phase(config, results, out.staged(""));
}

bool plot_phase(const PhaseConfig& config, const PhaseResults& results, const std::filesystem::path& folder) {
  if (results.rows.empty()) return false;
  const bool by_time = config.schedule.has_value();
  const std::string x_label = by_time ? fmt::format("diffusion time t ({} schedule)", schedule_name(*config.schedule))
                              : config.channel == Channel::gaussian ? "signal level alpha-bar"
                                                                    : "noise level epsilon";
  const std::string title = fmt::format("{} noise, v={}, classes={}, m={}, s={}", channel_name(config.channel),
                                        config.v, config.n_classes, config.m, config.s);
  int largest_L = 0;
  for (const auto& row : results.rows) largest_L = std::max(largest_L, row.L);
  std::vector<int> done_depths;
  for (int L : config.depths)
    if (std::any_of(results.rows.begin(), results.rows.end(), [&](const PhaseRow& r) { return r.L == L; }))
      done_depths.push_back(L);

  std::string script = "# hdiff phase figures: run `gnuplot figures.gp` in this folder to redraw them\n";
  std::string class_plots, level_plots, conditional_plots, susceptibility_plots;
  for (size_t k = 0; k < done_depths.size(); ++k) {
    const int L = done_depths[k];
    const double t = done_depths.size() > 1 ? static_cast<double>(k) / static_cast<double>(done_depths.size() - 1) : 0.0;
    const std::string colour = fmt::format("lc rgb '{}'", depth_colour(t));
    auto rows_of = [L](int level) { return [L, level](const PhaseRow& r) { return r.L == L && r.level == level; }; };
    script += data_block(fmt::format("class_L{}", L), config, results, [&](const PhaseRow& r) {
      return rows_of(0)(r) ? std::optional(r.agreement) : std::nullopt;
    });
    class_plots = curve(class_plots, fmt::format("class_L{}", L), "lw 2 pt 7 ps 0.6 " + colour, fmt::format("L = {}", L));
    script += data_block(fmt::format("changed_L{}", L), config, results, [&](const PhaseRow& r) {
      return rows_of(L)(r) ? r.changed.agreement : std::nullopt;
    });
    script += data_block(fmt::format("kept_L{}", L), config, results, [&](const PhaseRow& r) {
      return rows_of(L)(r) ? r.kept.agreement : std::nullopt;
    });
    conditional_plots = curve(conditional_plots, fmt::format("changed_L{}", L), "lw 2 pt 7 ps 0.6 " + colour,
                              fmt::format("L = {}, class changed", L));
    conditional_plots = curve(conditional_plots, fmt::format("kept_L{}", L), "lw 1 dt 2 pt 6 ps 0.6 " + colour,
                              fmt::format("L = {}, class kept", L));
    script += data_block(fmt::format("chi_L{}", L), config, results, [&](const PhaseRow& r) {
      return rows_of(L)(r) ? r.changes.susceptibility : std::nullopt;
    });
    susceptibility_plots = curve(susceptibility_plots, fmt::format("chi_L{}", L), "lw 2 pt 7 ps 0.6 " + colour,
                                 fmt::format("L = {}", L));
  }
  conditional_plots += fmt::format(", \\\n  {} with lines lw 1 lc rgb '#808080' title 'chance 1/v'", 1.0 / config.v);
  for (int level = 0; level <= largest_L; ++level) {
    script += data_block(fmt::format("level_{}", level), config, results, [&](const PhaseRow& r) {
      return r.L == largest_L && r.level == level ? std::optional(r.agreement) : std::nullopt;
    });
    const double t = largest_L > 0 ? static_cast<double>(level) / largest_L : 0.0;
    level_plots = curve(level_plots, fmt::format("level_{}", level),
                        fmt::format("lw 2 pt 7 ps 0.6 lc rgb '{}'", depth_colour(t)),
                        fmt::format("level {}{}", level, level == 0 ? " (class)" : level == largest_L ? " (tokens)" : ""));
  }
  script += fmt::format("set key outside right\nset grid\nset xlabel {}\n", gnuplot_quote(x_label));
  script += figure("class_agreement", "class agreement A_0", "[0:1.02]", "Class kept after forward-backward: " + title,
                   class_plots);
  script += figure("level_agreement", "agreement A_l", "[0:1.02]", fmt::format("Every level at L = {}: {}", largest_L, title),
                   level_plots);
  script += figure("conditional_agreement", "token agreement A_L given the class outcome", "[0:1.02]",
                   "New class, old details: " + title, conditional_plots);
  script += figure("token_susceptibility", "token susceptibility chi_L", "[0:*]",
                   "Correlated token changes: " + title, susceptibility_plots);
  return run_gnuplot(script, folder, "figures.gp");
}

}  // namespace hdiff
