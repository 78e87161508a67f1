#include "image/experiment/patch_changes.h"

#include <cmath>
#include <functional>

#include "common/error.h"

namespace hdiff::image {
namespace {

// Unbiased covariance of columns p and q over the images `use` selects.
double covariance(const std::vector<std::vector<double>>& m, size_t p, size_t q, const std::vector<bool>& use) {
  double n = 0, sp = 0, sq = 0;
  for (size_t i = 0; i < m.size(); ++i)
    if (use[i]) {
      n += 1;
      sp += m[i][p];
      sq += m[i][q];
    }
  const double mp = sp / n, mq = sq / n;
  double s = 0;
  for (size_t i = 0; i < m.size(); ++i)
    if (use[i]) s += (m[i][p] - mp) * (m[i][q] - mq);
  return s / (n - 1);
}

// Variance of the row sums, and the sum of the column variances, over the images `use` selects.
std::pair<double, double> total_and_diagonal(const std::vector<std::vector<double>>& m, const std::vector<bool>& use) {
  const size_t P = m.front().size();
  double n = 0;
  std::vector<double> col_mean(P, 0.0);
  double total_mean = 0;
  for (size_t i = 0; i < m.size(); ++i)
    if (use[i]) {
      n += 1;
      for (size_t p = 0; p < P; ++p) {
        col_mean[p] += m[i][p];
        total_mean += m[i][p];
      }
    }
  for (auto& c : col_mean) c /= n;
  total_mean /= n;
  double total_var = 0, diagonal = 0;
  for (size_t i = 0; i < m.size(); ++i)
    if (use[i]) {
      double row = 0;
      for (size_t p = 0; p < P; ++p) {
        row += m[i][p];
        diagonal += (m[i][p] - col_mean[p]) * (m[i][p] - col_mean[p]);
      }
      total_var += (row - total_mean) * (row - total_mean);
    }
  return {total_var / (n - 1), diagonal / (n - 1)};
}

// Delete-one jackknife standard error of `estimate` over the images; empty when
// any leave-one-out estimate is undefined or there are fewer than 3 images.
std::optional<double> jackknife_se(size_t n, const std::function<std::optional<double>(const std::vector<bool>&)>& estimate) {
  if (n < 3) return std::nullopt;
  std::vector<double> values;
  std::vector<bool> use(n, true);
  for (size_t i = 0; i < n; ++i) {
    use[i] = false;
    const auto v = estimate(use);
    use[i] = true;
    if (!v) return std::nullopt;
    values.push_back(*v);
  }
  double mean = 0;
  for (double v : values) mean += v;
  mean /= static_cast<double>(n);
  double ss = 0;
  for (double v : values) ss += (v - mean) * (v - mean);
  return std::sqrt(static_cast<double>(n - 1) / static_cast<double>(n) * ss);
}

void check(const PatchChanges& c) {
  HDIFF_CHECK(c.rows >= 1 && c.cols >= 1);
  for (const auto& row : c.m) HDIFF_CHECK(row.size() == static_cast<size_t>(c.rows) * static_cast<size_t>(c.cols));
}

}  // namespace

std::vector<double> patch_change(const Image& start, const Image& generated, int patch) {
  HDIFF_CHECK(patch >= 1);
  HDIFF_CHECK(start.width == generated.width && start.height == generated.height);
  const int rows = start.height / patch, cols = start.width / patch;
  HDIFF_CHECK(rows >= 1 && cols >= 1);
  std::vector<double> out;
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      double ss = 0;
      for (int y = r * patch; y < (r + 1) * patch; ++y)
        for (int x = c * patch; x < (c + 1) * patch; ++x)
          for (int ch = 0; ch < 3; ++ch) {
            const size_t at = (static_cast<size_t>(y) * static_cast<size_t>(start.width) + static_cast<size_t>(x)) * 3 +
                              static_cast<size_t>(ch);
            const double d = (static_cast<double>(generated.rgb[at]) - static_cast<double>(start.rgb[at])) / 255.0;
            ss += d * d;
          }
      out.push_back(std::sqrt(ss / (3.0 * patch * patch)));
    }
  return out;
}

SusceptibilityRow susceptibility(const PatchChanges& changes) {
  check(changes);
  SusceptibilityRow row;
  row.n = changes.m.size();
  if (row.n == 0) return row;
  double sum = 0;
  for (const auto& image : changes.m)
    for (double v : image) sum += v;
  const double P = static_cast<double>(changes.m.front().size());
  row.mean_change = sum / (static_cast<double>(row.n) * P);
  if (row.n < 2) return row;
  auto chi = [&](const std::vector<bool>& use) -> std::optional<double> {
    const auto [total, diagonal] = total_and_diagonal(changes.m, use);
    if (!(diagonal > 0)) return std::nullopt;
    return total / diagonal;
  };
  auto chi_raw = [&](const std::vector<bool>& use) -> std::optional<double> {
    return total_and_diagonal(changes.m, use).first / P;
  };
  const std::vector<bool> all(row.n, true);
  row.chi = chi(all);
  row.chi_raw = chi_raw(all);
  if (row.chi) row.chi_se = jackknife_se(row.n, chi);
  row.chi_raw_se = jackknife_se(row.n, chi_raw);
  return row;
}

std::vector<CorrelationRow> patch_correlations(const PatchChanges& changes) {
  check(changes);
  const size_t P = static_cast<size_t>(changes.rows) * static_cast<size_t>(changes.cols);
  auto distance = [&](size_t p, size_t q) {
    const double dy = static_cast<double>(p / static_cast<size_t>(changes.cols)) -
                      static_cast<double>(q / static_cast<size_t>(changes.cols));
    const double dx = static_cast<double>(p % static_cast<size_t>(changes.cols)) -
                      static_cast<double>(q % static_cast<size_t>(changes.cols));
    return static_cast<int>(std::lround(std::sqrt(dx * dx + dy * dy)));
  };
  const int max_r = distance(0, P - 1);
  std::vector<CorrelationRow> rows(static_cast<size_t>(max_r) + 1);
  std::vector<double> sums(rows.size(), 0.0);
  const bool defined = changes.m.size() >= 2;
  const std::vector<bool> all(changes.m.size(), true);
  for (size_t p = 0; p < P; ++p)
    for (size_t q = 0; q < P; ++q) {
      const auto r = static_cast<size_t>(distance(p, q));
      ++rows[r].pairs;
      if (defined) sums[r] += covariance(changes.m, p, q, all);
    }
  for (size_t r = 0; r < rows.size(); ++r) {
    rows[r].r = static_cast<int>(r);
    if (defined && rows[r].pairs > 0) rows[r].covariance = sums[r] / static_cast<double>(rows[r].pairs);
  }
  if (rows[0].covariance && *rows[0].covariance > 0)
    for (auto& row : rows)
      if (row.covariance) row.correlation = *row.covariance / *rows[0].covariance;
  return rows;
}

}  // namespace hdiff::image
