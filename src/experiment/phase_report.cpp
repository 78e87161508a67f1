#include "experiment/phase_report.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "common/gnuplot.h"
#include "noise/schedule.h"
#include "common/version.h"

namespace hdiff {

const char* const kPhaseCsvHeader =
    "v,n_classes,m,s,L,channel,schedule,time,noise,level,agreement,agreement_se,posterior_mass,posterior_mass_se,"
    "samples,grammars";

namespace {

// Shortest text that reads back to the same double (fmt's default), so the CSV is
// exact and byte-identical between runs.
std::string number(double value) { return fmt::format("{}", value); }

}  // namespace

std::string phase_csv(const PhaseConfig& config, const PhaseResults& results) {
  std::string out = std::string(kPhaseCsvHeader) + "\n";
  const std::string schedule = config.schedule ? schedule_name(*config.schedule) : "";
  for (const auto& row : results.rows) {
    const auto& point = config.noise[row.noise_index];
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", config.v, config.n_classes, config.m,
                       config.s, row.L, channel_name(config.channel), schedule, point.time ? number(*point.time) : "",
                       number(point.level), row.level, number(row.agreement.mean), number(row.agreement.standard_error),
                       number(row.posterior_mass.mean), number(row.posterior_mass.standard_error), row.samples,
                       row.grammars);
  }
  return out;
}

std::string class_agreement_table(const PhaseConfig& config, const PhaseResults& results) {
  const bool by_time = config.schedule.has_value();
  const std::string axis = by_time ? "time" : (config.channel == Channel::gaussian ? "alpha-bar" : "noise");
  std::string out = fmt::format("class agreement A_0 ({} channel, v={}, classes={}, m={}, s={})\n",
                                channel_name(config.channel), config.v, config.n_classes, config.m, config.s);
  out += fmt::format("{:>10}", axis);
  for (int L : config.depths) out += fmt::format(" {:>8}", fmt::format("L={}", L));
  out += "\n";
  std::map<std::pair<int, size_t>, double> class_agreement;
  for (const auto& row : results.rows)
    if (row.level == 0) class_agreement[{row.L, row.noise_index}] = row.agreement.mean;
  for (size_t k = 0; k < config.noise.size(); ++k) {
    const auto& point = config.noise[k];
    out += fmt::format("{:>10.4g}", by_time ? *point.time : point.level);
    for (int L : config.depths) {
      const auto it = class_agreement.find({L, k});
      out += it == class_agreement.end() ? fmt::format(" {:>8}", "-") : fmt::format(" {:>8.4f}", it->second);
    }
    out += "\n";
  }
  return out;
}

namespace {

// A colour between blue (t = 0) and red (t = 1), for curves ordered by depth.
std::string depth_colour(double t) {
  const int red = static_cast<int>(44 + t * (214 - 44));
  const int green = static_cast<int>(62 + t * (39 - 62) + 120 * t * (1 - t));
  const int blue = static_cast<int>(158 + t * (40 - 158));
  return fmt::format("#{:02x}{:02x}{:02x}", red, green, blue);
}

// An inline gnuplot data block `$name` with x, mean and standard error of the
// agreement of every row that `select` keeps.
template <typename Select>
std::string data_block(const std::string& name, const PhaseConfig& config, const PhaseResults& results, Select select) {
  std::string text = "$" + name + " << EOD\n";
  for (const auto& row : results.rows) {
    if (!select(row)) continue;
    const auto& point = config.noise[row.noise_index];
    text += fmt::format("{} {} {}\n", point.time ? *point.time : point.level, row.agreement.mean,
                        row.agreement.standard_error);
  }
  return text + "EOD\n";
}

}  // namespace

bool plot_phase(const PhaseConfig& config, const PhaseResults& results, const OutputDir& out) {
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

  // The data travels inside the script, so figures.gp redraws them on its own.
  std::string script = "# hdiff phase figures: run `gnuplot figures.gp` in this folder to redraw them\n";
  std::string class_plots, level_plots;
  for (size_t k = 0; k < done_depths.size(); ++k) {
    const int L = done_depths[k];
    script += data_block(fmt::format("class_L{}", L), config, results, [&](const PhaseRow& r) { return r.L == L && r.level == 0; });
    const double t = done_depths.size() > 1 ? static_cast<double>(k) / static_cast<double>(done_depths.size() - 1) : 0.0;
    class_plots += fmt::format("{}$class_L{} using 1:2:3 with yerrorlines lw 2 pt 7 ps 0.6 lc rgb '{}' title 'L = {}'",
                               class_plots.empty() ? "" : ", \\\n  ", L, depth_colour(t), L);
  }
  for (int level = 0; level <= largest_L; ++level) {
    script += data_block(fmt::format("level_{}", level), config, results,
                         [&](const PhaseRow& r) { return r.L == largest_L && r.level == level; });
    const double t = largest_L > 0 ? static_cast<double>(level) / largest_L : 0.0;
    level_plots += fmt::format("{}$level_{} using 1:2:3 with yerrorlines lw 2 pt 7 ps 0.6 lc rgb '{}' title 'level {}{}'",
                               level_plots.empty() ? "" : ", \\\n  ", level, depth_colour(t), level,
                               level == 0 ? " (class)" : level == largest_L ? " (tokens)" : "");
  }
  script += fmt::format("set key outside right\nset grid\nset xlabel {}\nset yrange [0:1.02]\n", gnuplot_quote(x_label));
  auto figure = [&](const std::string& name, const std::string& ylabel, const std::string& plot_title,
                    const std::string& plots) {
    std::string text;
    for (const auto& [terminal, extension] : {std::pair{"pngcairo size 1000,640 font ',11'", "png"},
                                              std::pair{"svg size 1000,640 dynamic font 'sans,12'", "svg"}}) {
      text += fmt::format("set terminal {}\nset output '{}.{}'\n", terminal, name, extension);
      text += fmt::format("set ylabel {}\nset title {}\n", gnuplot_quote(ylabel), gnuplot_quote(plot_title));
      text += "plot " + plots + "\nunset output\n";
    }
    return text;
  };
  script += figure("class_agreement", "class agreement A_0", "Class kept after forward-backward: " + title, class_plots);
  script += figure("level_agreement", "agreement A_l", fmt::format("Every level at L = {}: {}", largest_L, title),
                   level_plots);
  return run_gnuplot(script, out.staged(""), "figures.gp");
}

nlohmann::json phase_run_record(const PhaseConfig& config, const PhaseResults& results, double wall_seconds, int threads) {
  return {{"hdiff_version", version()},
          {"git_commit", git_commit()},
          {"config", phase_config_to_json(config)},
          {"grammar_seeds", config.grammar_seeds},
          {"rows", results.rows.size()},
          {"interrupted", results.interrupted},
          {"threads", threads},
          {"wall_seconds", wall_seconds}};
}

}  // namespace hdiff
