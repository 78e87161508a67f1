#include "theory/mean_field.h"

#include <fmt/format.h>

#include <cmath>

#include "common/error.h"
#include "common/version.h"
#include "grammar/grammar.h"

namespace hdiff {
namespace {

// 1/(v^s − 1): the mean weight of one tuple other than the true one, per unit of 1 − p^s.
double other_tuple_share(const MeanFieldModel& model) {
  return 1.0 / (std::pow(static_cast<double>(model.v), model.s) - 1.0);
}

// F_v(p) − p, whose roots are the fixed points.
double excess(const MeanFieldModel& model, double p) { return mean_field_map(model, p, model.v) - p; }

// Grid points of the scan for the interior fixed point; at most one exists
// (see mean_field.h), so the grid only has to resolve it from the two ends.
constexpr int kScanPoints = 4096;

}  // namespace

double existence_ratio(const MeanFieldModel& model) {
  return model.s * static_cast<double>(model.m) * (model.v - 1) * other_tuple_share(model);
}

void validate(const MeanFieldModel& model) {
  // The sizes a grammar with internal levels needs (v·m ≤ v^s as well as classes·m ≤ v^s).
  validate(GrammarParams{model.v, model.n_classes, model.m, model.s, 2, 0});
  const double ratio = existence_ratio(model);
  if (!(ratio < 1))
    fail("the mean-field map has no transition for v={} m={} s={}: s*m*(v-1)/(v^s-1) = {:.6g} is not below 1, so "
         "p = 1 is unstable and the class is lost at every noise; lower m or raise v or s",
         model.v, model.m, model.s, ratio);
}

double mean_field_map(const MeanFieldModel& model, double p, int n_parents) {
  const double q = std::pow(p, model.s);
  const double share = (1.0 - q) * other_tuple_share(model);
  return (q + (model.m - 1) * share) / (q + (static_cast<double>(n_parents) * model.m - 1) * share);
}

double mean_field_slope(const MeanFieldModel& model, double p, int n_parents) {
  // With q = p^s, F = (q + B(1−q))/(q + D(1−q)) has dF/dq = (D − B)/(q + D(1−q))², and D − B = (n−1)·m/(v^s−1).
  const double c = other_tuple_share(model);
  const double q = std::pow(p, model.s);
  const double denominator = q + (static_cast<double>(n_parents) * model.m - 1) * c * (1.0 - q);
  return (n_parents - 1.0) * model.m * c * model.s * std::pow(p, model.s - 1) / (denominator * denominator);
}

double leaf_belief(int v, double epsilon) { return 1.0 - epsilon + epsilon / v; }

double noise_of_belief(int v, double p) { return (1.0 - p) / (1.0 - 1.0 / v); }

double mean_field_class_belief(const MeanFieldModel& model, double epsilon, int L) {
  if (L < 1) fail("depth L = {} is too small; the tree needs L >= 1", L);
  double p = leaf_belief(model.v, epsilon);
  for (int level = 1; level < L; ++level) p = mean_field_map(model, p, model.v);
  return mean_field_map(model, p, model.n_classes);
}

MeanFieldResult solve_mean_field(const MeanFieldModel& model) {
  validate(model);
  const double trivial = 1.0 / model.v;
  MeanFieldResult result;
  result.slope_at_one = mean_field_slope(model, 1.0, model.v);

  // The basin of p = 1 reaches down to the largest fixed point below it: from
  // the top, find the last grid point where F(p) < p, then bisect the cell above it.
  const auto grid = [&](int i) { return trivial + (1.0 - trivial) * i / kScanPoints; };
  int below = 0;
  for (int i = kScanPoints - 1; i >= 1 && below == 0; --i)
    if (excess(model, grid(i)) < 0) below = i;
  result.fixed_points.push_back(trivial);
  if (below == 0) {
    // F(p) > p on all of (1/v, 1): p = 1/v itself is unstable and every noise below 1 is reconstructed.
    result.p_star = trivial;
  } else {
    double low = grid(below), high = grid(below + 1);
    while (true) {
      const double middle = 0.5 * (low + high);
      if (middle <= low || middle >= high) break;
      (excess(model, middle) < 0 ? low : high) = middle;
    }
    result.p_star = 0.5 * (low + high);
    result.fixed_points.push_back(result.p_star);
  }
  result.fixed_points.push_back(1.0);
  result.critical_noise = noise_of_belief(model.v, result.p_star);
  result.slope_at_p_star = mean_field_slope(model, result.p_star, model.v);
  if (!(result.slope_at_p_star > 1))
    fail("the mean-field fixed point p* = {} of v={} m={} s={} is not unstable (F'(p*) = {}); no transition to report",
         result.p_star, model.v, model.m, model.s, result.slope_at_p_star);
  result.nu = std::log(static_cast<double>(model.s)) / std::log(result.slope_at_p_star);
  return result;
}

std::vector<ClassPrediction> mean_field_overlay(const ComparedModel& model, std::span<const double> noise,
                                                std::span<const int> depths) {
  std::vector<ClassPrediction> curves;
  if (model.channel != Channel::soft) return curves;
  const MeanFieldModel sizes{model.v, model.n_classes, model.m, model.s};
  for (int L : depths)
    for (double epsilon : noise) curves.push_back({L, epsilon, mean_field_class_belief(sizes, epsilon, L), 0.0});
  return curves;
}

nlohmann::json mean_field_json(const MeanFieldModel& model, const MeanFieldResult& result) {
  return {{"v", model.v},
          {"n_classes", model.n_classes},
          {"m", model.m},
          {"s", model.s},
          {"channel", "soft"},
          {"noise_quantity", "epsilon"},
          {"map",
           "p_{l-1} = F(p_l), F(p) = [p^s + (m-1)(1-p^s)/(v^s-1)] / [p^s + (v*m-1)(1-p^s)/(v^s-1)], "
           "p_L = 1 - epsilon + epsilon/v"},
          {"existence_ratio", existence_ratio(model)},
          {"fixed_points", result.fixed_points},
          {"p_star", result.p_star},
          {"critical_noise", result.critical_noise},
          {"slope_at_p_star", result.slope_at_p_star},
          {"slope_at_one", result.slope_at_one},
          {"nu", result.nu},
          {"hdiff_version", version()},
          {"git_commit", git_commit()}};
}

std::string mean_field_summary(const MeanFieldModel& model, const MeanFieldResult& result) {
  std::string fixed;
  for (double p : result.fixed_points)
    fixed += fmt::format("{}{:.6f} ({})", fixed.empty() ? "" : ", ", p,
                         mean_field_slope(model, p, model.v) < 1 ? "stable" : "unstable");
  return fmt::format(
      "mean field of the soft channel, v={} classes={} m={} s={}: s*m*(v-1)/(v^s-1) = {:.6f} < 1\n"
      "fixed points p = {}\n"
      "p* = {:.6f}, critical epsilon* = {:.6f}, F'(p*) = {:.6f}, F'(1) = {:.6f}, nu = {:.6f}\n",
      model.v, model.n_classes, model.m, model.s, existence_ratio(model), fixed, result.p_star,
      result.critical_noise, result.slope_at_p_star, result.slope_at_one, result.nu);
}

void run_mean_field(const MeanFieldModel& model, OutputDir& out) {
  const MeanFieldResult result = solve_mean_field(model);
  out.write("mean_field.json", mean_field_json(model, result).dump(2) + "\n");
  out.commit();
  fmt::print("{}wrote {}\n", mean_field_summary(model, result), (out.dir() / "mean_field.json").string());
}

}  // namespace hdiff
