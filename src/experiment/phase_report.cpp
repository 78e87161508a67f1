#include "experiment/phase_report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "noise/schedule.h"
#include "common/version.h"

namespace hdiff {

#define HDIFF_PHASE_KEY_COLUMNS "v,n_classes,m,s,L,channel,schedule,time,noise,level,"
const char* const kPhaseCsvHeader =
    HDIFF_PHASE_KEY_COLUMNS "agreement,agreement_se,posterior_mass,posterior_mass_se,samples,grammars";
const char* const kConditionalCsvHeader =
    HDIFF_PHASE_KEY_COLUMNS "class,fraction,agreement,agreement_se,samples,grammars";
const char* const kChangesCsvHeader = HDIFF_PHASE_KEY_COLUMNS
    "changed_fraction,susceptibility,susceptibility_se,samples,grammars,"
    "susceptibility_raw,susceptibility_raw_se,susceptibility_window,susceptibility_window_se,window";
const char* const kInformationCsvHeader = HDIFF_PHASE_KEY_COLUMNS
    "prior_entropy,entropy,entropy_se,mutual_information,mutual_information_se,"
    "information_fraction,cross_entropy,cross_entropy_se,same_class_probability,same_class_probability_se,samples,"
    "grammars";
const char* const kCorrelationsCsvHeader =
    HDIFF_PHASE_KEY_COLUMNS "lca_level,correlation,correlation_se,samples,grammars";
#undef HDIFF_PHASE_KEY_COLUMNS

namespace {

// Shortest text that reads back to the same double (fmt's default), so the CSV is
// exact and byte-identical between runs.
std::string number(double value) { return fmt::format("{}", value); }

// An estimate's mean and standard error as two CSV fields, both empty when undefined.
std::string fields(const std::optional<Estimate>& value) {
  return value ? number(value->mean) + "," + number(value->standard_error) : ",";
}

// The ten key columns of a row, ending with a comma.
std::string key(const PhaseConfig& config, const PhaseRow& row) {
  const auto& point = config.noise[row.noise_index];
  return fmt::format("{},{},{},{},{},{},{},{},{},{},", config.v, config.n_classes, config.m, config.s, row.L,
                     channel_name(config.channel), config.schedule ? schedule_name(*config.schedule) : "",
                     point.time ? number(*point.time) : "", number(point.level), row.level);
}

}  // namespace

std::string phase_csv(const PhaseConfig& config, const PhaseResults& results) {
  std::string out = std::string(kPhaseCsvHeader) + "\n";
  for (const auto& row : results.rows)
    out += key(config, row) + fmt::format("{},{},{},{},{},{}\n", number(row.agreement.mean),
                                          number(row.agreement.standard_error), number(row.posterior_mass.mean),
                                          number(row.posterior_mass.standard_error), row.samples, row.grammars);
  return out;
}

std::string conditional_csv(const PhaseConfig& config, const PhaseResults& results) {
  std::string out = std::string(kConditionalCsvHeader) + "\n";
  for (const auto& row : results.rows)
    for (const auto& [name, outcome] : {std::pair{"kept", &row.kept}, std::pair{"changed", &row.changed}})
      out += key(config, row) + fmt::format("{},{},{},{},{}\n", name, number(outcome->fraction), fields(outcome->agreement),
                                            outcome->trajectories, row.grammars);
  return out;
}

std::string changes_csv(const PhaseConfig& config, const PhaseResults& results) {
  std::string out = std::string(kChangesCsvHeader) + "\n";
  for (const auto& row : results.rows)
    if (row.level >= 1)
      out += key(config, row) + fmt::format("{},{},{},{},{},{},{}\n", number(row.changes.changed_fraction),
                                            fields(row.changes.susceptibility), row.samples, row.grammars,
                                            fields(row.changes.susceptibility_raw),
                                            fields(row.changes.susceptibility_window), config.change_window);
  return out;
}

std::string information_csv(const PhaseConfig& config, const PhaseResults& results) {
  std::string out = std::string(kInformationCsvHeader) + "\n";
  for (const auto& row : results.rows) {
    const InformationSummary& info = row.information;
    // I/H(z): empty where the prior has no entropy (one class: nothing to learn),
    // and where a forged journal's tiny prior entropy would make it overflow.
    const double ratio = info.prior_entropy > 0 ? info.mutual_information.mean / info.prior_entropy : 0.0;
    const std::string fraction = info.prior_entropy > 0 && std::isfinite(ratio) ? number(ratio) : "";
    out += key(config, row) + fmt::format("{},{},{},{},{},{},{},{}\n", number(info.prior_entropy), fields(info.entropy),
                                          fields(info.mutual_information), fraction, fields(info.cross_entropy),
                                          fields(info.same_symbol), row.information_samples, row.grammars);
  }
  return out;
}

std::string correlations_csv(const PhaseConfig& config, const PhaseResults& results) {
  std::string out = std::string(kCorrelationsCsvHeader) + "\n";
  for (const auto& row : results.rows)
    for (size_t k = 0; k < row.changes.by_lca.size(); ++k)
      out += key(config, row) + fmt::format("{},{},{},{}\n", k, fields(row.changes.by_lca[k]), row.samples, row.grammars);
  return out;
}

std::vector<SusceptibilityPeak> token_susceptibility_peaks(const PhaseConfig& config, const PhaseResults& results) {
  std::vector<SusceptibilityPeak> peaks;
  for (int L : config.depths) {
    std::optional<SusceptibilityPeak> best;
    for (const auto& row : results.rows) {
      if (row.L != L || row.level != L || !row.changes.susceptibility) continue;
      const Estimate& chi = *row.changes.susceptibility;
      if (!best || chi.mean > best->susceptibility.mean) best = SusceptibilityPeak{L, row.noise_index, chi};
    }
    if (best) peaks.push_back(*best);
  }
  return peaks;
}

std::vector<ClassCrossing> class_curve_crossings(const PhaseConfig& config, const PhaseResults& results) {
  const bool by_time = config.schedule.has_value();
  std::vector<size_t> order(config.noise.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  const auto axis = [&](size_t k) { return by_time ? *config.noise[k].time : config.noise[k].level; };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return axis(a) < axis(b); });
  std::map<std::pair<int, size_t>, double> class_agreement;
  for (const auto& row : results.rows)
    if (row.level == 0) class_agreement[{row.L, row.noise_index}] = row.agreement.mean;
  std::vector<ClassCrossing> crossings;
  for (size_t d = 0; d + 1 < config.depths.size(); ++d) {
    const int shallow = config.depths[d], deep = config.depths[d + 1];
    // (axis value, deep − shallow) at the points both curves have (an interrupted run lacks some).
    std::vector<std::pair<double, double>> difference;
    for (size_t k : order) {
      const auto a = class_agreement.find({shallow, k}), b = class_agreement.find({deep, k});
      if (a != class_agreement.end() && b != class_agreement.end()) difference.emplace_back(axis(k), b->second - a->second);
    }
    std::optional<ClassCrossing> best;
    double steepest = 0;
    // Consecutive points of non-zero difference and opposite signs; points where the
    // curves are exactly equal (ties of counts happen) lie between them.
    std::optional<size_t> previous;
    for (size_t j = 0; j < difference.size(); ++j) {
      if (difference[j].second == 0) continue;
      if (previous) {
        const size_t i = *previous;
        const double before = difference[i].second, after = difference[j].second;
        if (before * after < 0 && std::abs(before - after) > steepest) {
          steepest = std::abs(before - after);
          const double x0 = difference[i].first, x1 = difference[j].first;
          const double at = j == i + 1 ? x0 + (x1 - x0) * before / (before - after)
                                       : (difference[i + 1].first + difference[j - 1].first) / 2;
          best = ClassCrossing{shallow, deep, at};
        }
      }
      previous = j;
    }
    if (best) crossings.push_back(*best);
  }
  return crossings;
}

std::string class_crossing_summary(const PhaseConfig& config, const PhaseResults& results) {
  if (config.depths.size() < 2) return "";
  const std::string axis = config.schedule ? "time" : (config.channel == Channel::gaussian ? "alpha-bar" : "noise");
  const auto crossings = class_curve_crossings(config, results);
  if (crossings.empty()) return fmt::format("the class curves of different L do not cross on this {} grid\n", axis);
  std::string out = fmt::format("the class curves of adjacent L cross at {} =", axis);
  double sum = 0;
  for (const auto& crossing : crossings) {
    out += fmt::format(" {:.4f} (L={}/{})", crossing.at, crossing.shallow_L, crossing.deep_L);
    sum += crossing.at;
  }
  return out + fmt::format("; mean {:.4f} (linear interpolation between grid points)\n", sum / static_cast<double>(crossings.size()));
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

std::string susceptibility_summary(const PhaseConfig& config, const PhaseResults& results) {
  const bool by_time = config.schedule.has_value();
  const std::string axis = by_time ? "time" : (config.channel == Channel::gaussian ? "alpha-bar" : "noise");
  std::string out;
  for (const auto& peak : token_susceptibility_peaks(config, results)) {
    const auto& point = config.noise[peak.noise_index];
    out += fmt::format("L={}: token susceptibility peaks at {} = {:.4g}, chi = {:.4g} +- {:.2g}\n", peak.L, axis,
                       by_time ? *point.time : point.level, peak.susceptibility.mean, peak.susceptibility.standard_error);
  }
  return out;
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

std::string phase_grid_folder(const PhaseConfig& config) {
  return fmt::format("v{}_classes{}_m{}_s{}", config.v, config.n_classes, config.m, config.s);
}

void write_phase_outputs(const std::vector<PhaseConfig>& grid, const std::vector<PhaseResults>& results,
                         const PhaseRunFacts& facts, OutputDir& out) {
  using Table = std::string (*)(const PhaseConfig&, const PhaseResults&);
  for (const auto& [name, table] : {std::pair<const char*, Table>{"results.csv", phase_csv},
                                    {"conditional.csv", conditional_csv},
                                    {"changes.csv", changes_csv},
                                    {"correlations.csv", correlations_csv},
                                    {"information.csv", information_csv}}) {
    std::string csv = table(grid[0], results[0]);
    // The rows of the other points: all their lines but the header.
    for (size_t g = 1; g < grid.size(); ++g) {
      const std::string more = table(grid[g], results[g]);
      csv += more.substr(more.find('\n') + 1);
    }
    out.write(name, csv);
  }
  const bool one = grid.size() == 1;
  const bool interrupted = results[0].interrupted;
  // One grammar keeps its record's top-level fields (the layout before grids
  // existed); every run has `grid`, so a reader needs one loop for any run.
  nlohmann::json record = one ? phase_run_record(grid[0], results[0], facts.wall_seconds, facts.threads)
                              : nlohmann::json{{"hdiff_version", version()}, {"git_commit", git_commit()},
                                               {"interrupted", interrupted}, {"threads", facts.threads},
                                               {"wall_seconds", facts.wall_seconds}};
  record["grid"] = nlohmann::json::array();
  for (size_t g = 0; g < grid.size(); ++g)
    record["grid"].push_back({{"folder", one ? "." : phase_grid_folder(grid[g])},
                              {"config", phase_config_to_json(grid[g])},
                              {"rows", results[g].rows.size()}});
  record["ranks"] = facts.ranks;
  record["units_resumed"] = facts.units_resumed;
  record["bytes_communicated"] = facts.bytes_communicated;
  out.write("run.json", record.dump(2) + "\n");
  if (interrupted) return;
  if (one) {
    plot_phase(grid[0], results[0], out);
    return;
  }
  for (size_t g = 0; g < grid.size(); ++g) {
    const auto folder = out.staged(phase_grid_folder(grid[g]));
    std::filesystem::create_directories(folder);
    plot_phase(grid[g], results[g], folder);
  }
}

}  // namespace hdiff
