#include "theory/correlation_length.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <sstream>

#include "common/error.h"
#include "common/input_file.h"
#include "theory/csv_fields.h"

namespace hdiff {
namespace {

const std::string kCorrelations = "the correlations.csv written by `hdiff phase`";

}  // namespace

std::vector<CorrelationPoint> read_token_correlations(const std::filesystem::path& path, const ComparedModel& model) {
  std::istringstream in(read_input_file(path, "", kMaxResultsCsvBytes));
  std::string line;
  if (!std::getline(in, line)) fail("{} is empty; give the correlations.csv written by `hdiff phase`", path.string());
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const auto header = split_csv_fields(line);
  std::map<std::string, size_t> column;
  for (size_t i = 0; i < header.size(); ++i) column[header[i]] = i;
  for (const char* name : {"v", "n_classes", "m", "s", "L", "channel", "noise", "level", "lca_level", "correlation",
                           "correlation_se"})
    if (!column.count(name))
      fail("{} has no column \"{}\"; give the correlations.csv written by `hdiff phase`", path.string(), name);
  std::vector<CorrelationPoint> points;
  int number = 1;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto fields = split_csv_fields(line);
    if (fields.size() != header.size())
      fail("{}: line {} has {} fields but the header has {}", path.string(), number, fields.size(), header.size());
    const auto integer = [&](const char* name) { return parse_csv_integer(fields[column[name]], path, number, name, kCorrelations); };
    const auto real = [&](const char* name) { return parse_csv_number(fields[column[name]], path, number, name, kCorrelations); };
    if (fields[column["channel"]] != channel_name(model.channel) || integer("v") != model.v ||
        integer("n_classes") != model.n_classes || integer("m") != model.m || integer("s") != model.s)
      continue;
    const int L = integer("L"), level = integer("level"), lca = integer("lca_level");
    if (level != L) continue;
    if (lca >= level) fail("{}: line {}: lca_level {} is not below level {}", path.string(), number, lca, level);
    const double se = real("correlation_se");
    if (se < 0) fail("{}: line {}: correlation_se {} is negative", path.string(), number, se);
    points.push_back({L, real("noise"), L - lca, real("correlation"), se});
  }
  return points;
}

std::vector<CorrelationLength> fit_correlation_lengths(const std::vector<CorrelationPoint>& points) {
  std::map<std::pair<int, double>, std::vector<const CorrelationPoint*>> groups;
  for (const auto& point : points) groups[{point.L, point.noise}].push_back(&point);
  std::vector<CorrelationLength> out;
  for (const auto& [key, group] : groups) {
    // Weighted least squares of y = log C on h, weights w = (C/se)².
    double sw = 0, sh = 0, sy = 0, shh = 0, shy = 0;
    int used = 0;
    for (const auto* point : group) {
      if (!(point->correlation > 0 && point->se > 0)) continue;
      const double w = (point->correlation / point->se) * (point->correlation / point->se);
      const double y = std::log(point->correlation);
      sw += w;
      sh += w * point->height;
      sy += w * y;
      shh += w * point->height * point->height;
      shy += w * point->height * y;
      ++used;
    }
    if (used < 2) continue;
    const double determinant = sw * shh - sh * sh;
    if (!(determinant > 0)) continue;
    const double slope = (sw * shy - sh * sy) / determinant;
    const double slope_se = std::sqrt(sw / determinant);
    if (!(slope < 0)) continue;
    const double xi = -1 / slope;
    out.push_back({key.first, key.second, xi, slope_se / (slope * slope), std::exp(slope), used});
  }
  return out;
}

std::string correlation_length_csv(const std::vector<CorrelationLength>& lengths) {
  std::string out = "L,noise,xi,xi_se,decay_per_level,points\n";
  for (const auto& row : lengths)
    out += fmt::format("{},{},{},{},{},{}\n", row.L, row.noise, row.xi, row.xi_se, row.decay_per_level, row.points);
  return out;
}

}  // namespace hdiff
