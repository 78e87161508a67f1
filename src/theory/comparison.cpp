#include "theory/comparison.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/gnuplot.h"
#include "common/input_file.h"
#include "common/output.h"

namespace hdiff {
namespace {

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream stream(line);
  while (std::getline(stream, field, ',')) fields.push_back(field);
  if (!line.empty() && line.back() == ',') fields.emplace_back();
  return fields;
}

// A finite number in [low, high] from column `column` of line `line`.
double parse_number(const std::string& text, const std::filesystem::path& path, int line, const char* column,
                    double low = -HUGE_VAL, double high = HUGE_VAL) {
  double value = 0;
  try {
    size_t used = 0;
    value = std::stod(text, &used);
    if (used != text.size()) throw std::invalid_argument(text);
  } catch (const std::exception&) {
    fail("{}: line {}: column {} holds \"{}\", not a number; give a results.csv written by `hdiff phase`",
         path.string(), line, column, text);
  }
  if (!std::isfinite(value))
    fail("{}: line {}: column {} holds {}, not a finite number; give a results.csv written by `hdiff phase`",
         path.string(), line, column, text);
  if (value < low || value > high)
    fail("{}: line {}: column {} holds {}, outside [{}, {}]; give a results.csv written by `hdiff phase`", path.string(),
         line, column, text, low, high);
  return value;
}

// A whole number in [0, 2^31) from column `column` of line `line`.
int parse_integer(const std::string& text, const std::filesystem::path& path, int line, const char* column) {
  const double value = parse_number(text, path, line, column, 0, 0x1p31 - 1);
  if (value != std::floor(value))
    fail("{}: line {}: column {} holds {}, not a whole number; give a results.csv written by `hdiff phase`",
         path.string(), line, column, text);
  return static_cast<int>(value);
}

}  // namespace

std::vector<MeasuredPoint> read_phase_results(const std::filesystem::path& path, const ComparedModel& model) {
  std::error_code not_a_folder;
  if (std::filesystem::is_directory(path, not_a_folder))
    fail("{} is a folder; give the results.csv written by `hdiff phase` in it", path.string());
  std::istringstream in(read_input_file(path, "", kMaxResultsCsvBytes));
  std::string line;
  if (!std::getline(in, line)) fail("{} is empty; give the results.csv written by `hdiff phase`", path.string());
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const auto header = split_fields(line);
  std::map<std::string, size_t> column;
  for (size_t i = 0; i < header.size(); ++i) column[header[i]] = i;
  const char* needed[] = {"v", "n_classes", "m", "s", "L", "channel", "noise", "level", "agreement", "agreement_se"};
  for (const char* name : needed)
    if (!column.count(name))
      fail("{} has no column \"{}\"; give the results.csv written by `hdiff phase`", path.string(), name);

  std::vector<MeasuredPoint> points;
  std::set<std::string> seen_models;
  int line_number = 1;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto fields = split_fields(line);
    if (fields.size() != header.size())
      fail("{}: line {} has {} fields but the header has {}", path.string(), line_number, fields.size(), header.size());
    auto number = [&](const char* name, double low, double high) {
      return parse_number(fields[column[name]], path, line_number, name, low, high);
    };
    auto integer = [&](const char* name) { return parse_integer(fields[column[name]], path, line_number, name); };
    const std::string channel = fields[column["channel"]];
    const int v = integer("v"), n_classes = integer("n_classes"), m = integer("m"), s = integer("s");
    seen_models.insert(fmt::format("v={} classes={} m={} s={} {}", v, n_classes, m, s, channel));
    if (integer("level") != 0) continue;
    if (v != model.v || n_classes != model.n_classes || m != model.m || s != model.s ||
        channel != channel_name(model.channel))
      continue;
    points.push_back({integer("L"), number("noise", -HUGE_VAL, HUGE_VAL), number("agreement", 0, 1),
                      number("agreement_se", 0, HUGE_VAL)});
  }
  if (points.empty()) {
    std::string held;
    for (const auto& text : seen_models) held += (held.empty() ? "" : "; ") + text;
    fail("{} holds no class-level rows for v={} classes={} m={} s={} {} (it holds: {}); give matching --v, "
         "--classes, --m, --s and --channel",
         path.string(), model.v, model.n_classes, model.m, model.s, channel_name(model.channel),
         held.empty() ? "no rows" : held);
  }
  return points;
}

std::vector<ComparedPoint> pair_points(const std::vector<MeasuredPoint>& measured,
                                       const std::vector<ClassPrediction>& predicted) {
  std::vector<ComparedPoint> out;
  for (const auto& point : measured)
    for (const auto& prediction : predicted)
      if (prediction.L == point.L && std::fabs(prediction.noise - point.noise) <= 1e-9) {
        out.push_back({point, prediction, prediction.mass - point.agreement});
        break;
      }
  return out;
}

std::string comparison_figure(const std::vector<ComparedPoint>& points, const std::vector<ClassPrediction>& predicted,
                              const ComparedModel& model, const std::filesystem::path& data_path,
                              const std::vector<ClassPrediction>& mean_field) {
  std::set<int> depths;
  for (const auto& prediction : predicted) depths.insert(prediction.L);
  // Block i of the data file: theory for the i-th L; block n + i: its measurements.
  std::string data = "# noise mass mass_se (theory blocks first, then measured blocks, then any mean-field blocks, one per L)\n";
  for (int L : depths) {
    std::vector<ClassPrediction> curve;
    for (const auto& prediction : predicted)
      if (prediction.L == L) curve.push_back(prediction);
    std::sort(curve.begin(), curve.end(), [](const auto& a, const auto& b) { return a.noise < b.noise; });
    data += fmt::format("# theory L={}\n", L);
    for (const auto& c : curve) data += fmt::format("{} {} {}\n", c.noise, c.mass, c.mass_se);
    data += "\n\n";
  }
  for (int L : depths) {
    data += fmt::format("# measured L={}\n", L);
    bool any = false;
    for (const auto& point : points)
      if (point.measured.L == L) {
        data += fmt::format("{} {} {}\n", point.measured.noise, point.measured.agreement, point.measured.agreement_se);
        any = true;
      }
    if (!any) data += "nan nan nan\n";
    data += "\n\n";
  }
  // Blocks 2n + i: the mean-field curve of the i-th L.
  for (int L : depths) {
    if (mean_field.empty()) break;
    data += fmt::format("# mean field L={}\n", L);
    bool any = false;
    for (const auto& prediction : mean_field)
      if (prediction.L == L) {
        data += fmt::format("{} {} 0\n", prediction.noise, prediction.mass);
        any = true;
      }
    if (!any) data += "nan nan nan\n";
    data += "\n\n";
  }
  write_file_atomic(data_path, data);

  const auto n = depths.size();
  std::string titles;
  for (int L : depths) titles += fmt::format("{} ", L);
  const std::string x_label = model.channel == Channel::gaussian ? "alpha-bar" : "noise epsilon";
  std::string plot = fmt::format(
      "depths = \"{}\"\n"
      "set xlabel {}\nset ylabel \"class agreement / posterior mass\"\nset yrange [0:1.02]\n"
      "set key outside right\nset grid\n"
      "set title {}\n"
      "plot for [i=1:{}] '{}' index (i-1) using 1:2 with lines lw 2 lc i title sprintf('theory L=%s', word(depths, i)), \\\n"
      "     for [i=1:{}] '{}' index ({} + i - 1) using 1:2:3 with yerrorbars pt 7 ps 0.6 lc i title sprintf('measured L=%s', word(depths, i)){}\n",
      titles, gnuplot_quote(x_label),
      gnuplot_quote(fmt::format("v={} classes={} m={} s={} {}", model.v, model.n_classes, model.m, model.s,
                                channel_name(model.channel))),
      n, data_path.filename().string(), n, data_path.filename().string(), n,
      mean_field.empty()
          ? std::string()
          : fmt::format(", \\\n     for [i=1:{}] '{}' index ({} + i - 1) using 1:2 with lines dt 2 lw 1.5 lc i "
                        "title sprintf('mean field L=%s', word(depths, i))",
                        n, data_path.filename().string(), 2 * n));
  return "set terminal pngcairo size 900,600\nset output 'comparison.png'\n" + plot +
         "set terminal svg size 900,600\nset output 'comparison.svg'\nreplot\n";
}

}  // namespace hdiff
