#include "theory/comparison.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/gnuplot.h"
#include "common/input_file.h"
#include "common/output.h"
#include "noise/channel.h"
#include "theory/csv_fields.h"

namespace hdiff {
namespace {

const std::string kResults = "a results.csv written by `hdiff phase`";

// The rows of a results.csv: every row's model, and the class-level points with theirs.
struct ResultRows {
  std::vector<ComparedModel> models;  // each once, in file order
  std::vector<std::pair<ComparedModel, MeasuredPoint>> class_points;
};

ResultRows read_result_rows(const std::filesystem::path& path) {
  std::error_code not_a_folder;
  if (std::filesystem::is_directory(path, not_a_folder))
    fail("{} is a folder; give the results.csv written by `hdiff phase` in it", path.string());
  std::istringstream in(read_input_file(path, "", kMaxResultsCsvBytes));
  std::string line;
  if (!std::getline(in, line)) fail("{} is empty; give the results.csv written by `hdiff phase`", path.string());
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const auto header = split_csv_fields(line);
  std::map<std::string, size_t> column;
  for (size_t i = 0; i < header.size(); ++i) column[header[i]] = i;
  const char* needed[] = {"v", "n_classes", "m", "s", "L", "channel", "noise", "level", "agreement", "agreement_se"};
  for (const char* name : needed)
    if (!column.count(name))
      fail("{} has no column \"{}\"; give the results.csv written by `hdiff phase`", path.string(), name);

  ResultRows rows;
  int line_number = 1;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto fields = split_csv_fields(line);
    if (fields.size() != header.size())
      fail("{}: line {} has {} fields but the header has {}", path.string(), line_number, fields.size(), header.size());
    auto number = [&](const char* name, double low, double high) {
      return parse_csv_number(fields[column[name]], path, line_number, name, kResults, low, high);
    };
    auto integer = [&](const char* name) { return parse_csv_integer(fields[column[name]], path, line_number, name, kResults); };
    const std::string channel = fields[column["channel"]];
    Channel parsed{};
    try {
      parsed = parse_channel(channel);
    } catch (const Error&) {
      fail("{}: line {}: column channel holds \"{}\", not a noise channel; give a results.csv written by `hdiff phase`",
           path.string(), line_number, channel);
    }
    const ComparedModel model{integer("v"), integer("n_classes"), integer("m"), integer("s"), parsed};
    if (std::find(rows.models.begin(), rows.models.end(), model) == rows.models.end()) rows.models.push_back(model);
    if (integer("level") != 0) continue;
    rows.class_points.push_back({model, {integer("L"), number("noise", -HUGE_VAL, HUGE_VAL), number("agreement", 0, 1),
                                         number("agreement_se", 0, HUGE_VAL)}});
  }
  return rows;
}

std::string models_text(const std::vector<ComparedModel>& models) {
  std::string held;
  for (const auto& model : models) held += (held.empty() ? "" : "; ") + model_text(model);
  return held.empty() ? "no rows" : held;
}

}  // namespace

std::string model_text(const ComparedModel& model) {
  return fmt::format("v={} classes={} m={} s={} {}", model.v, model.n_classes, model.m, model.s,
                     channel_name(model.channel));
}

std::filesystem::path phase_results_path(const std::filesystem::path& path) {
  std::error_code not_a_folder;
  return std::filesystem::is_directory(path, not_a_folder) ? path / "results.csv" : path;
}

std::vector<ComparedModel> phase_result_models(const std::filesystem::path& path) {
  auto models = read_result_rows(path).models;
  if (models.empty()) fail("{} holds no rows; give the results.csv of a finished `hdiff phase` run", path.string());
  return models;
}

ComparedModel choose_compared_model(const std::vector<ComparedModel>& models, const GivenModel& given,
                                    const std::filesystem::path& source) {
  struct Part {
    const char* option;
    std::optional<std::string> value;
    std::function<bool(const ComparedModel&)> agrees;
  };
  const auto text = [](const auto& value) { return value ? std::optional<std::string>(fmt::format("{}", *value)) : std::nullopt; };
  const Part parts[] = {
      {"--v", text(given.v), [&](const ComparedModel& m) { return m.v == given.v; }},
      {"--classes", text(given.n_classes), [&](const ComparedModel& m) { return m.n_classes == given.n_classes; }},
      {"--m", text(given.m), [&](const ComparedModel& m) { return m.m == given.m; }},
      {"--s", text(given.s), [&](const ComparedModel& m) { return m.s == given.s; }},
      {"--channel", given.channel ? std::optional<std::string>(channel_name(*given.channel)) : std::nullopt,
       [&](const ComparedModel& m) { return m.channel == given.channel; }},
  };
  std::vector<ComparedModel> left = models;
  std::string given_text;
  for (const auto& part : parts) {
    if (!part.value) continue;
    given_text += fmt::format("{}{} {}", given_text.empty() ? "" : " ", part.option, *part.value);
    if (std::none_of(models.begin(), models.end(), part.agrees))
      fail("{} {} contradicts {}, which holds {}; the model is read from the results: drop {}", part.option,
           *part.value, source.string(), models_text(models), part.option);
    std::erase_if(left, [&](const ComparedModel& model) { return !part.agrees(model); });
  }
  if (left.empty())
    fail("no model of {} has {} (it holds: {}); the model is read from the results: drop the options or fix them",
         source.string(), given_text, models_text(models));
  if (left.size() > 1)
    fail("{} holds {} models ({}); choose one with --v, --classes, --m, --s or --channel", source.string(), left.size(),
         models_text(left));
  return left[0];
}

std::vector<MeasuredPoint> read_phase_results(const std::filesystem::path& path, const ComparedModel& model) {
  const ResultRows rows = read_result_rows(path);
  std::vector<MeasuredPoint> points;
  for (const auto& [row_model, point] : rows.class_points)
    if (row_model == model) points.push_back(point);
  if (points.empty())
    fail("{} holds no class-level rows for {} (it holds: {}); give matching --v, --classes, --m, --s and --channel",
         path.string(), model_text(model), models_text(rows.models));
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

FigureScript comparison_figure(const std::vector<ComparedPoint>& points, const std::vector<ClassPrediction>& predicted,
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
  const std::string x_label = model.channel == Channel::gaussian ? "signal level ᾱ" : "noise level ε";
  const std::string data_file = gnuplot_quote(data_path.filename().string());
  // Curve i of every kind takes linetype i of the shared style: one colour and point type per L.
  std::string plot = fmt::format(
      "depths = \"{}\"\n"
      "set xlabel {}\nset ylabel \"class agreement A_0 / posterior mass\"\nset yrange [0:1.02]\n"
      "set title {} noenhanced\n"
      "plot for [i=1:{}] {} index (i-1) using 1:2 with lines lt i title sprintf('theory L = %s', word(depths, i)), \\\n"
      "     for [i=1:{}] {} index ({} + i - 1) using 1:2:3 with yerrorbars lt i title sprintf('measured L = %s', word(depths, i)){}, \\\n"
      "     {} with lines lw 1.5 dt 3 lc rgb '#666666' title {}\n",
      titles, gnuplot_quote(x_label),
      gnuplot_quote(fmt::format("theory and experiment: {} noise, v = {}, classes = {}, m = {}, s = {}",
                                channel_name(model.channel), model.v, model.n_classes, model.m, model.s)),
      n, data_file, n, data_file, n,
      mean_field.empty()
          ? std::string()
          : fmt::format(", \\\n     for [i=1:{}] {} index ({} + i - 1) using 1:2 with lines lt i dt 2 lw 1.5 "
                        "title sprintf('mean field L = %s', word(depths, i))",
                        n, data_file, 2 * n),
      1.0 / model.n_classes, gnuplot_quote(fmt::format("chance 1/classes = {:.3g}", 1.0 / model.n_classes)));
  FigureScript script{"# hdiff theory --compare: theory against experiment, from comparison.dat\n" +
                          figure_style(),
                      {}};
  add_figure(script, "comparison", plot);
  return script;
}

}  // namespace hdiff
