#include "image/probe/probe_table.h"

#include <fmt/format.h>

#include <cmath>
#include <iterator>

#include "common/error.h"

namespace hdiff::image {

const char* const kPairsHeader =
    "image,k,k_over_K,probe,depth,similarity,start_class,generated_class,class_kept";
const char* const kSummaryHeader =
    "k,k_over_K,probe,depth,n,similarity_mean,similarity_se,class_kept,class_kept_se";
const char* const kConditionalHeader = "k,k_over_K,probe,depth,class,n,similarity_mean,similarity_se";
const char* const kSimilaritySplitHeader = "k,k_over_K,probe,depth,distance,class,n,mean,se";
const char* const kClassChangedHeader = "k,k_over_K,n,class_changed,class_changed_se";

namespace {

std::string k_fraction(const ProbeTable& t, int64_t k) {
  if (t.num_steps <= 0) return "";
  return fmt::format("{:.6g}", static_cast<double>(k) / static_cast<double>(t.num_steps));
}

// Names are relative paths; quote them when they hold CSV's special characters.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Mean and standard error (sample standard deviation / sqrt(n); NaN for n < 2).
std::pair<double, double> mean_se(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  const double n = static_cast<double>(v.size());
  const double mean = sum / n;
  if (v.size() < 2) return {mean, std::nan("")};
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return {mean, std::sqrt(ss / (n - 1) / n)};
}

void check_shape(const ProbeTable& t) {
  HDIFF_CHECK(t.results.size() == t.ks.size());
  for (const auto& row : t.results) {
    HDIFF_CHECK(row.size() == t.images.size());
    for (const auto& p : row) HDIFF_CHECK(p.similarity.size() == t.probes.size());
  }
}

}  // namespace

std::vector<SummaryRow> summarize(const ProbeTable& table) {
  check_shape(table);
  std::vector<SummaryRow> rows;
  for (size_t s = 0; s < table.ks.size(); ++s) {
    std::vector<double> kept;
    for (const auto& p : table.results[s]) kept.push_back(p.start_class == p.generated_class ? 1.0 : 0.0);
    if (kept.empty()) continue;
    const auto [kept_mean, kept_se] = mean_se(kept);
    for (size_t d = 0; d < table.probes.size(); ++d) {
      std::vector<double> sims;
      for (const auto& p : table.results[s]) sims.push_back(p.similarity[d]);
      const auto [m, se] = mean_se(sims);
      rows.push_back({table.ks[s], d, sims.size(), m, se, kept_mean, kept_se});
    }
  }
  return rows;
}

std::vector<ClassOutcomeRow> summarize_by_class(const ProbeTable& table) {
  check_shape(table);
  std::vector<ClassOutcomeRow> rows;
  for (size_t s = 0; s < table.ks.size(); ++s)
    for (size_t d = 0; d < table.probes.size(); ++d)
      for (bool kept : {true, false}) {
        std::vector<double> sims;
        for (const auto& p : table.results[s])
          if ((p.start_class == p.generated_class) == kept) sims.push_back(p.similarity[d]);
        ClassOutcomeRow row{table.ks[s], d, kept, sims.size(), std::nullopt, std::nullopt};
        if (!sims.empty()) {
          const auto [mean, se] = mean_se(sims);
          row.similarity_mean = mean;
          if (sims.size() >= 2) row.similarity_se = se;
        }
        rows.push_back(row);
      }
  return rows;
}

std::vector<DistanceSplitRow> summarize_distances_by_class(const ProbeTable& table) {
  check_shape(table);
  for (const auto& row : table.results)
    for (const auto& p : row) HDIFF_CHECK(p.l2.size() == table.probes.size() && p.l2_normalised.size() == table.probes.size());
  const auto value = [](const PairProbe& p, size_t distance, size_t depth) {
    return distance == 0 ? p.similarity[depth] : distance == 1 ? p.l2[depth] : p.l2_normalised[depth];
  };
  std::vector<DistanceSplitRow> rows;
  for (size_t s = 0; s < table.ks.size(); ++s)
    for (size_t d = 0; d < table.probes.size(); ++d)
      for (size_t distance = 0; distance < std::size(kDistanceNames); ++distance)
        for (bool kept : {true, false}) {
          std::vector<double> values;
          for (const auto& p : table.results[s])
            if ((p.start_class == p.generated_class) == kept) values.push_back(value(p, distance, d));
          DistanceSplitRow row{table.ks[s], d, distance, kept, values.size(), std::nullopt, std::nullopt};
          if (!values.empty()) {
            const auto [mean, se] = mean_se(values);
            row.mean = mean;
            if (values.size() >= 2) row.se = se;
          }
          rows.push_back(row);
        }
  return rows;
}

std::string similarity_split_csv(const ProbeTable& table) {
  auto field = [](const std::optional<double>& x) { return x ? fmt::format("{:.9g}", *x) : std::string(); };
  std::string out = std::string(kSimilaritySplitHeader) + "\n";
  for (const auto& r : summarize_distances_by_class(table))
    out += fmt::format("{},{},{},{},{},{},{},{},{}\n", r.k, k_fraction(table, r.k), table.probes[r.depth], r.depth,
                       kDistanceNames[r.distance], r.class_kept ? "kept" : "changed", r.n, field(r.mean),
                       field(r.se));
  return out;
}

std::string class_changed_csv(const ProbeTable& table) {
  std::string out = std::string(kClassChangedHeader) + "\n";
  for (const auto& r : summarize(table))
    if (r.depth == 0)
      out += fmt::format("{},{},{},{:.9g},{:.9g}\n", r.k, k_fraction(table, r.k), r.n, 1.0 - r.class_kept,
                         r.class_kept_se);
  return out;
}

std::string pairs_csv(const ProbeTable& table) {
  check_shape(table);
  std::string out = std::string(kPairsHeader) + "\n";
  for (size_t s = 0; s < table.ks.size(); ++s)
    for (size_t i = 0; i < table.images.size(); ++i) {
      const auto& p = table.results[s][i];
      for (size_t d = 0; d < table.probes.size(); ++d)
        out += fmt::format("{},{},{},{},{},{:.9g},{},{},{}\n", csv_field(table.images[i]),
                           table.ks[s], k_fraction(table, table.ks[s]), table.probes[d], d,
                           p.similarity[d], p.start_class, p.generated_class,
                           p.start_class == p.generated_class ? 1 : 0);
    }
  return out;
}

std::string summary_csv(const ProbeTable& table) {
  std::string out = std::string(kSummaryHeader) + "\n";
  for (const auto& r : summarize(table))
    out += fmt::format("{},{},{},{},{},{:.9g},{:.9g},{:.9g},{:.9g}\n", r.k, k_fraction(table, r.k),
                       table.probes[r.depth], r.depth, r.n, r.similarity_mean, r.similarity_se,
                       r.class_kept, r.class_kept_se);
  return out;
}

std::string conditional_csv(const ProbeTable& table) {
  auto field = [](const std::optional<double>& x) { return x ? fmt::format("{:.9g}", *x) : std::string(); };
  std::string out = std::string(kConditionalHeader) + "\n";
  for (const auto& r : summarize_by_class(table))
    out += fmt::format("{},{},{},{},{},{},{},{}\n", r.k, k_fraction(table, r.k), table.probes[r.depth], r.depth,
                       r.class_kept ? "kept" : "changed", r.n, field(r.similarity_mean), field(r.similarity_se));
  return out;
}

}  // namespace hdiff::image
