#include "theory/threshold_grid.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <tuple>

#include "common/error.h"
#include "common/first_few.h"
#include "common/gnuplot.h"
#include "common/version.h"
#include "theory/theory_report.h"

namespace hdiff {
namespace {

std::string model_name(const TheoryParams& params) {
  return fmt::format("{} v={} classes={} m={} s={}", channel_name(params.channel), params.v, params.n_classes, params.m,
                     params.s);
}

// Shortest text that reads back to the same double, as in the phase CSVs.
std::string number(double value) { return fmt::format("{}", value); }

struct Reader {
  const std::string& bytes;
  size_t at = 0;
  template <typename T>
  T next() {
    if (bytes.size() - at < sizeof(T)) fail("a threshold result is cut short");
    T value;
    std::memcpy(&value, bytes.data() + at, sizeof(T));
    at += sizeof(T);
    return value;
  }
  // A noise level, an information or its error: finite in every real result.
  double number() {
    const auto value = next<double>();
    if (!std::isfinite(value))
      fail("a threshold result holds {} where a number belongs", value);
    return value;
  }
};

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

}  // namespace

std::vector<TheoryParams> threshold_grid(const TheoryParams& base, const ThresholdGridLists& lists) {
  const double combinations = static_cast<double>(lists.channels.size()) * static_cast<double>(lists.v.size()) *
                              static_cast<double>(lists.n_classes.size()) * static_cast<double>(lists.m.size()) *
                              static_cast<double>(lists.s.size());
  if (combinations > 10000)
    fail("the lists of --v, --classes, --m, --s and --channel give {:.0f} models, more than the 10000 one run takes; "
         "split them into several runs", combinations);
  std::vector<TheoryParams> grid;
  for (Channel channel : lists.channels)
    for (int v : lists.v)
      for (int n_classes : lists.n_classes)
        for (int m : lists.m)
          for (int s : lists.s) {
            TheoryParams params = base;
            params.channel = channel;
            params.v = v;
            params.n_classes = n_classes;
            params.m = m;
            params.s = s;
            grid.push_back(params);
          }
  if (grid.size() == 1) {
    validate(grid[0]);
    return grid;
  }
  std::vector<std::string> invalid;
  for (const auto& params : grid) {
    try {
      validate(params);
    } catch (const Error& e) {
      invalid.push_back(fmt::format("[{}] {}", model_name(params), e.what()));
    }
  }
  if (!invalid.empty())
    fail("{} of the {} model combinations of the lists are invalid: {}; remove those values or split the grid",
         invalid.size(), grid.size(), first_few(invalid));
  return grid;
}

double production_fraction(const TheoryParams& params) {
  return params.m / std::pow(static_cast<double>(params.v), params.s - 1);
}

std::string encode_threshold(const ThresholdResult& result, double wall_seconds) {
  std::string out;
  for (double value : {result.critical_noise, result.interval_low, result.interval_high, result.fixed_point_information,
                       wall_seconds})
    put(out, value);
  put<uint8_t>(out, result.never_reconstructed);
  put<uint64_t>(out, result.probes.size());
  for (const auto& probe : result.probes) {
    put(out, probe.noise);
    put<int32_t>(out, static_cast<int32_t>(probe.outcome));
    put<int32_t>(out, probe.levels_run);
    put(out, probe.information);
    put(out, probe.information_se);
  }
  return out;
}

ThresholdResult decode_threshold(const std::string& bytes, const ThresholdOptions& options, double& wall_seconds) {
  Reader in{bytes};
  // Noise levels (ε or ᾱ) lie in [0, 1]; the information D = (mass − 1/v)/(1 − 1/v)
  // in [−1, 1], its standard error in [0, 2] (a rounding slack on either).
  const auto within = [](double value, double low, double high, const char* what) {
    if (!(value >= low - 1e-9 && value <= high + 1e-9))
      fail("a threshold result is impossible: {} {} outside [{}, {}]", what, value, low, high);
    return value;
  };
  ThresholdResult result;
  result.critical_noise = within(in.number(), 0, 1, "noise");
  result.interval_low = within(in.number(), 0, 1, "noise");
  result.interval_high = within(in.number(), result.interval_low, 1, "noise");
  result.fixed_point_information = within(in.number(), -1, 1, "information");
  wall_seconds = within(in.number(), 0, 1e12, "wall time");
  const auto never = in.next<uint8_t>();
  if (never > 1) fail("a threshold result is damaged");
  result.never_reconstructed = never != 0;
  const auto probes = in.next<uint64_t>();
  if (probes > (bytes.size() - in.at) / 32) fail("a threshold result has an impossible size");
  for (uint64_t i = 0; i < probes; ++i) {
    ThresholdProbe probe;
    probe.noise = within(in.number(), 0, 1, "noise");
    const auto outcome = in.next<int32_t>();
    if (outcome < 0 || outcome > 2) fail("a threshold result is damaged");
    probe.outcome = static_cast<ProbeOutcome>(outcome);
    probe.levels_run = in.next<int32_t>();
    if (probe.levels_run < 0 || probe.levels_run > options.levels) fail("a threshold result is damaged");
    probe.information = within(in.number(), -1, 1, "information");
    probe.information_se = within(in.number(), 0, 2, "standard error");
    result.probes.push_back(probe);
  }
  if (in.at != bytes.size()) fail("a threshold result has trailing bytes");
  return result;
}

std::string threshold_run_identity(const std::vector<TheoryParams>& grid, const ThresholdOptions& options) {
  nlohmann::json models = nlohmann::json::array();
  for (const auto& params : grid) models.push_back(theory_model_json(params));
  return nlohmann::json{{"command", "theory --threshold"}, {"hdiff_version", version()}, {"git_commit", git_commit()},
                        {"levels", options.levels}, {"tolerance", options.tolerance}, {"grid", models}}
      .dump();
}

std::string threshold_csv(const std::vector<TheoryParams>& grid, const ThresholdOptions& options,
                          const std::vector<ThresholdResult>& results) {
  std::string csv =
      "v,n_classes,m,s,f,channel,noise_quantity,critical_noise,interval_low,interval_high,fixed_point_information,"
      "never_reconstructed,critical_time_linear,critical_time_cosine,probes,population,replicas,levels,tolerance,seed\n";
  for (size_t i = 0; i < grid.size(); ++i) {
    const TheoryParams& params = grid[i];
    const ThresholdResult& result = results[i];
    csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", params.v, params.n_classes, params.m,
                       params.s, number(production_fraction(params)), channel_name(params.channel),
                       params.channel == Channel::gaussian ? "alpha_bar" : "epsilon", number(result.critical_noise),
                       number(result.interval_low), number(result.interval_high), number(result.fixed_point_information),
                       result.never_reconstructed ? 1 : 0,
                       number(critical_time(params.channel, "linear", result.critical_noise)),
                       number(critical_time(params.channel, "cosine", result.critical_noise)), result.probes.size(),
                       params.population, params.replicas, options.levels, number(options.tolerance), params.seed);
  }
  return csv;
}

FigureScript phase_diagram_script(const std::vector<TheoryParams>& grid, const std::vector<ThresholdResult>& results) {
  // One colour per channel. Within a channel, the models of one (v, classes, s)
  // form one line along f (m varies), marked by a point type per v: models of
  // equal f but another v are other points, not a zigzag of one line.
  std::vector<std::string> channels;
  std::vector<int> vs;
  for (const auto& params : grid) {
    const std::string name = channel_name(params.channel);
    if (std::find(channels.begin(), channels.end(), name) == channels.end()) channels.push_back(name);
    if (std::find(vs.begin(), vs.end(), params.v) == vs.end()) vs.push_back(params.v);
  }
  std::map<std::tuple<std::string, int, int, int>, std::vector<size_t>> lines;  // (channel, v, classes, s) -> models
  for (size_t i = 0; i < grid.size(); ++i)
    lines[{channel_name(grid[i].channel), grid[i].v, grid[i].n_classes, grid[i].s}].push_back(i);
  FigureScript figure{"# hdiff theory --threshold: the phase diagram; run `gnuplot phase_diagram.gp` here to redraw it\n" +
                          figure_style(),
                      {}};
  std::string& script = figure.text;
  std::string plots;
  const auto add = [&](const std::string& plot) { plots += (plots.empty() ? "" : ", \\\n  ") + plot; };
  bool gaussian = false;
  for (size_t c = 0; c < channels.size(); ++c) {
    bool titled = false;
    for (auto& [key, members] : lines) {
      if (std::get<0>(key) != channels[c]) continue;
      std::stable_sort(members.begin(), members.end(), [&](size_t a, size_t b) {
        return production_fraction(grid[a]) < production_fraction(grid[b]);
      });
      const std::string block =
          fmt::format("threshold_{}_v{}_classes{}_s{}", channels[c], std::get<1>(key), std::get<2>(key), std::get<3>(key));
      script += "$" + block + " << EOD\n";
      for (size_t i : members)
        script += fmt::format("{} {} {} {} # m={}\n", number(production_fraction(grid[i])), number(results[i].critical_noise),
                              number(results[i].interval_low), number(results[i].interval_high), grid[i].m);
      script += "EOD\n";
      gaussian |= channels[c] == "gaussian";
      const auto v_index = std::find(vs.begin(), vs.end(), std::get<1>(key)) - vs.begin();
      add(fmt::format("${} using 1:2:3:4 with yerrorlines lw 2 pt {} lc rgb '{}' {}", block,
                      series_point_type(static_cast<size_t>(v_index)), series_colour(c),
                      titled ? "notitle" : "title " + gnuplot_quote(channels[c] == "gaussian" ? "gaussian (ᾱ*)" : channels[c])));
      titled = true;
    }
  }
  // A key entry per v for the point types.
  if (vs.size() > 1)
    for (size_t i = 0; i < vs.size(); ++i)
      add(fmt::format("NaN with points pt {} lc rgb '#404040' title 'v = {}'", series_point_type(i), vs[i]));
  add_figure(figure, "phase_diagram",
             fmt::format("set logscale x\nset xlabel 'f = m / v^{{s-1}}'\nset ylabel {}\nset yrange [0:1.02]\n"
                         "set title 'Class reconstruction threshold (density evolution; bars: the undecided interval)'\n"
                         "plot {}\n",
                         gnuplot_quote(gaussian ? "critical noise ε* (ᾱ* for gaussian)" : "critical noise ε*"), plots));
  return figure;
}

}  // namespace hdiff
