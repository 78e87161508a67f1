#include "experiment/phase_units.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/memory.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "common/version.h"
#include "experiment/phase_config.h"
#include "grammar/grammar.h"
#include "experiment/markov_unit.h"

namespace hdiff {
namespace {

// Little-endian by construction on the machines hdiff runs on (x86-64, arm64);
// both ends of a transfer are the same build.
void put_count(std::string& out, uint64_t count) { out.append(reinterpret_cast<const char*>(&count), sizeof count); }

void put_values(std::string& out, const std::vector<double>& values) {
  put_count(out, values.size());
  out.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(double));
}

// The layout of an encoded unit, first in every payload: a journal of an
// earlier layout is refused by name, never misread. Format 2 added the
// information measures and the windowed change terms. (Format 1 had no tag:
// its first word was the count N·(L+1) ≥ 2 of agreements, never this value.)
constexpr uint64_t kMeasuresFormat = 0x48444946'4d450002;  // "HDIFME" 2

// Reads what put_* wrote, checking every length against what is left.
struct Reader {
  const std::string& bytes;
  size_t at = 0;

  uint64_t count() {
    if (bytes.size() - at < sizeof(uint64_t)) fail("a phase unit's result is cut short");
    uint64_t value;
    std::memcpy(&value, bytes.data() + at, sizeof value);
    at += sizeof value;
    return value;
  }
  double number() {
    if (bytes.size() - at < sizeof(double)) fail("a phase unit's result is cut short");
    double value;
    std::memcpy(&value, bytes.data() + at, sizeof value);
    at += sizeof value;
    return measure(value);
  }
  // Every measure is a count, a sum of at most 2^53 probabilities or a squared
  // sum of centred changes over one tree's leaves: a value beyond ±1e30 (or
  // NaN) is a damaged or forged record, which the CRC, made for accidents, may
  // not catch, and would make the results' sums overflow.
  static double measure(double value) {
    if (!(std::fabs(value) <= 1e30))
      fail("a phase unit's result holds {} where a measure belongs", value);
    return value;
  }
  std::vector<double> values(std::optional<uint64_t> expected = std::nullopt) {
    const uint64_t n = count();
    if ((expected && n != *expected) || n > (bytes.size() - at) / sizeof(double))
      fail("a phase unit's result has an impossible size");
    std::vector<double> out(n);
    // An empty vector's data() may be null, which memcpy must not get even for
    // 0 bytes (a unit without change terms: one sample, one trajectory).
    if (n > 0) std::memcpy(out.data(), bytes.data() + at, n * sizeof(double));
    at += n * sizeof(double);
    for (double value : out) measure(value);
    return out;
  }
};

// Rounding slack: a measure may exceed its bound by rounding (posterior masses
// are sums of single-precision marginals: 60.0000003 for 60 samples was seen).
constexpr double kSlack = 1e-5;

[[noreturn]] void impossible(const std::string& what) { fail("a phase unit's result is impossible: {}", what); }

// Each value within [low, high] (with the rounding slack).
void check_range(const std::vector<double>& values, double low, double high, const char* what) {
  const double slack = kSlack * std::max(1.0, std::fabs(high));
  for (double x : values)
    if (!(x >= low - slack && x <= high + slack)) impossible(fmt::format("{} {} outside [{}, {}]", what, x, low, high));
}

// Each value a whole number of trajectories in [0, high].
void check_counts(const std::vector<double>& values, double high, const char* what) {
  for (double x : values)
    if (!(x >= 0 && x <= high && x == std::floor(x))) impossible(fmt::format("{} {} is not a count in [0, {}]", what, x, high));
}

// What run_phase_unit (and reduce_unit_measures) can produce, checked for a
// decoded unit. The CRC of a journal record guards against accidents only: a
// forged record passes it, and values that no unit can produce (a fraction of
// 7, a count of 1e30, a susceptibility denominator of 1e-300) turn into inf,
// NaN or an overflowing integer in the tables. Per cluster (a sample, or the
// whole unit when reduced to sums over its N samples): agreements and masses
// are means over trajectories in [0, 1] (sums over N when reduced); the
// outcome counts are whole numbers of trajectories, the class outcome the
// same at every level, kept + changed = T (N·T reduced), each agreement sum at
// most its count; the change terms have 0 ≤ Σ_i C_ii ≤ 2n (n = s^ℓ positions,
// centred 0/1 values scaled by at most 2), 0 ≤ Σ_ij C_ij ≤ n·Σ_i C_ii
// (Cauchy–Schwarz), |C(k)| ≤ 2, one term per cluster, none exactly when no
// covariance exists (one sample, one trajectory), and one C(k) per level k < ℓ.
void check_unit_values(const UnitMeasures& m, const PhaseConfig& config, int L, bool reduced) {
  const auto N = static_cast<double>(config.samples);
  const auto T = static_cast<double>(config.trajectories);
  const double per_cluster = reduced ? N : 1.0;  // samples summed into one entry
  check_range(m.agreement, 0, per_cluster, "agreement");
  check_range(m.mass, 0, per_cluster, "posterior mass");
  // Entropies of a node's symbol lie in [0, log n_ℓ]; the cross-entropy in
  // [0, −log 1e-300] (node_information's floor); Σ p² in [0, 1].
  const double largest_entropy = std::log(static_cast<double>(std::max(config.v, config.n_classes)));
  const double information_cluster = reduced ? static_cast<double>(information_sample_count(config)) : 1.0;
  check_range(m.entropy, 0, information_cluster * largest_entropy, "posterior entropy");
  check_range(m.cross_entropy, 0, information_cluster * -std::log(1e-300), "cross-entropy");
  check_range(m.same_symbol, 0, information_cluster, "same-symbol probability");
  check_range(m.prior_entropy, 0, largest_entropy, "prior entropy");
  const size_t clusters = m.kept[0].count.size();
  for (int level = 0; level <= L; ++level) {
    const auto& kept = m.kept[static_cast<size_t>(level)];
    const auto& changed = m.changed[static_cast<size_t>(level)];
    check_counts(kept.count, per_cluster * T, "trajectory count");
    check_counts(changed.count, per_cluster * T, "trajectory count");
    for (size_t k = 0; k < clusters; ++k) {
      if (kept.count[k] + changed.count[k] != per_cluster * T || kept.count[k] != m.kept[0].count[k])
        impossible(fmt::format("the class outcomes of level {} do not add up to the trajectories", level));
      check_range({kept.agreement_sum[k]}, 0, kept.count[k], "agreement sum");
      check_range({changed.agreement_sum[k]}, 0, changed.count[k], "agreement sum");
    }
    const ChangeTerms& terms = m.changes[static_cast<size_t>(level)];
    check_range({terms.changed_fraction}, 0, 1, "changed fraction");
    const bool covariance = !(config.trajectories == 1 && config.samples < 2);
    if (terms.total.size() != (covariance ? (reduced ? 1 : static_cast<size_t>(config.samples)) : 0) ||
        terms.by_lca.size() != static_cast<size_t>(level))
      impossible(fmt::format("the change terms of level {} have the wrong size", level));
    const double positions = std::pow(static_cast<double>(config.s), level);
    check_range(terms.diagonal, 0, 2 * positions, "change variance");
    check_range(terms.total, 0, 2 * positions * positions, "change covariance");
    for (size_t k = 0; k < terms.total.size(); ++k)
      if (!(terms.total[k] <= positions * terms.diagonal[k] * (1 + kSlack) + kSlack))
        impossible(fmt::format("the change covariance {} exceeds {} × the variance {}", terms.total[k], positions,
                               terms.diagonal[k]));
    for (const auto& values : terms.by_lca) check_range(values, -2, 2, "change correlation");
    // Σ_{|r| ≤ R} C(r) with |C(r)| ≤ 2 (as C(k)), R = min(window, n − 1).
    const double reach = std::min(static_cast<double>(config.change_window), positions - 1);
    check_range(terms.window, -2 * (2 * reach + 1), 2 * (2 * reach + 1), "windowed change covariance");
  }
}

}  // namespace

std::vector<PhaseUnit> phase_units(const std::vector<PhaseConfig>& grid) {
  std::vector<PhaseUnit> units;
  for (size_t g = 0; g < grid.size(); ++g)
    for (int L : grid[g].depths)
      for (size_t k = 0; k < grid[g].noise.size(); ++k)
        for (size_t seed = 0; seed < grid[g].grammar_seeds.size(); ++seed) units.push_back({g, L, k, seed});
  return units;
}

double phase_unit_cost(const PhaseConfig& config, const PhaseUnit& unit) {
  const GrammarParams params{config.v, config.n_classes, config.m, config.s, unit.L, 0};
  double work = 0;
  for (int level = 0; level < unit.L; ++level)
    work += static_cast<double>(nodes_at_level(params, level)) * symbols_at_level(params, level) * config.m * config.s;
  return static_cast<double>(config.samples) * config.trajectories * (work + static_cast<double>(sequence_length(params)));
}

bool run_units_side_by_side(const std::vector<PhaseConfig>& grid, size_t units, int ranks, int threads) {
  if (threads < 2 || static_cast<double>(units) < 4.0 * threads * ranks) return false;
  double bytes = 0;
  for (const auto& config : grid)
    for (int L : config.depths) {
      const PhaseMemory memory = phase_memory(config, L);
      bytes = std::max(bytes, threads * (memory.per_thread + memory.per_unit) + memory.per_noise_point);
    }
  // Ranks may share a node's memory: each takes at most its share of half.
  return bytes * ranks <= 0.5 * available_memory_bytes();
}

std::string encode_unit_measures(const UnitMeasures& measures) {
  std::string out;
  put_count(out, kMeasuresFormat);
  put_values(out, measures.agreement);
  put_values(out, measures.mass);
  put_values(out, measures.entropy);
  put_values(out, measures.cross_entropy);
  put_values(out, measures.same_symbol);
  put_values(out, measures.prior_entropy);
  put_count(out, measures.kept.size());
  for (const auto* outcomes : {&measures.kept, &measures.changed})
    for (const auto& sums : *outcomes) {
      put_values(out, sums.count);
      put_values(out, sums.agreement_sum);
    }
  put_count(out, measures.changes.size());
  for (const auto& terms : measures.changes) {
    out.append(reinterpret_cast<const char*>(&terms.changed_fraction), sizeof(double));
    put_values(out, terms.total);
    put_values(out, terms.diagonal);
    put_values(out, terms.window);
    put_count(out, terms.by_lca.size());
    for (const auto& values : terms.by_lca) put_values(out, values);
  }
  return out;
}

bool travels_reduced(const PhaseConfig& config) { return config.grammar_seeds.size() > 1; }

UnitMeasures reduce_unit_measures(const UnitMeasures& measures, int64_t samples, int L) {
  const int levels = L + 1;
  const auto sum_of = [](const std::vector<double>& values) {
    double sum = 0;
    for (double x : values) sum += x;
    return sum;
  };
  // As changes.cpp's mean over clusters: the sum from zero, divided by the count.
  const auto mean_of = [&](const std::vector<double>& values) {
    return values.empty() ? 0 : sum_of(values) / static_cast<double>(values.size());
  };
  UnitMeasures reduced;
  for (const auto member : {&UnitMeasures::agreement, &UnitMeasures::mass, &UnitMeasures::entropy,
                            &UnitMeasures::cross_entropy, &UnitMeasures::same_symbol}) {
    // The information measures have their own count of samples (information_sample_count).
    const auto count = static_cast<int64_t>((measures.*member).size()) / levels;
    HDIFF_CHECK(count <= samples);
    for (int level = 0; level < levels; ++level) {
      double sum = 0;
      for (int64_t n = 0; n < count; ++n) sum += (measures.*member)[static_cast<size_t>(n * levels + level)];
      (reduced.*member).push_back(sum);
    }
  }
  reduced.prior_entropy = measures.prior_entropy;
  for (const auto& [from, to] : {std::pair{&measures.kept, &reduced.kept}, std::pair{&measures.changed, &reduced.changed}})
    for (const auto& sums : *from) to->push_back({{sum_of(sums.count)}, {sum_of(sums.agreement_sum)}});
  for (const auto& terms : measures.changes) {
    ChangeTerms one;
    one.positions = terms.positions;
    one.changed_fraction = terms.changed_fraction;
    if (!terms.total.empty()) {
      one.total = {mean_of(terms.total)};
      one.diagonal = {mean_of(terms.diagonal)};
      one.window = {mean_of(terms.window)};
    }
    for (const auto& values : terms.by_lca) one.by_lca.push_back(one.total.empty() ? std::vector<double>{} : std::vector{mean_of(values)});
    reduced.changes.push_back(std::move(one));
  }
  return reduced;
}

std::vector<PhaseRow> summarise_reduced(int L, size_t noise_index, const std::vector<UnitMeasures>& per_grammar,
                                        int64_t samples, int trajectories, int64_t information_samples) {
  HDIFF_CHECK(per_grammar.size() > 1);
  std::vector<PhaseRow> rows;
  for (int level = 0; level <= L; ++level) {
    LevelColumns columns;
    for (const auto& unit : per_grammar) {
      const auto mean = [&](const std::vector<double>& sums, int64_t count) {
        return sums[static_cast<size_t>(level)] / static_cast<double>(count);
      };
      columns.agreement.push_back(mean(unit.agreement, samples));
      columns.mass.push_back(mean(unit.mass, samples));
      columns.entropy.push_back(mean(unit.entropy, information_samples));
      columns.cross_entropy.push_back(mean(unit.cross_entropy, information_samples));
      columns.same_symbol.push_back(mean(unit.same_symbol, information_samples));
    }
    rows.push_back(level_row(L, noise_index, level, per_grammar, columns, samples, trajectories, information_samples));
  }
  return rows;
}

UnitMeasures decode_unit_measures(const std::string& bytes, const PhaseConfig& config, int L) {
  const auto levels = static_cast<uint64_t>(L + 1);
  const bool reduced = travels_reduced(config);
  const auto samples = reduced ? uint64_t{1} : static_cast<uint64_t>(config.samples);
  Reader in{bytes};
  const uint64_t format = in.count();
  if (format != kMeasuresFormat)
    fail(
        "a phase unit's result is not in this hdiff's format {} (an older hdiff's journal, or damaged); finish the "
        "run with the hdiff that made it, or delete the journal to start over",
        kMeasuresFormat & 0xffff);
  UnitMeasures measures;
  measures.agreement = in.values(samples * levels);
  measures.mass = in.values(samples * levels);
  const auto information_samples = reduced ? uint64_t{1} : static_cast<uint64_t>(information_sample_count(config));
  measures.entropy = in.values(information_samples * levels);
  measures.cross_entropy = in.values(information_samples * levels);
  measures.same_symbol = in.values(information_samples * levels);
  measures.prior_entropy = in.values(levels);
  if (in.count() != levels) fail("a phase unit's result has the wrong number of levels");
  for (auto* outcomes : {&measures.kept, &measures.changed})
    for (uint64_t level = 0; level < levels; ++level) {
      OutcomeSums sums;
      sums.count = in.values(samples);
      sums.agreement_sum = in.values(samples);
      outcomes->push_back(std::move(sums));
    }
  if (in.count() != levels) fail("a phase unit's result has the wrong number of levels");
  for (uint64_t level = 0; level < levels; ++level) {
    ChangeTerms terms;
    terms.changed_fraction = in.number();
    terms.total = in.values();
    if (reduced && terms.total.size() > 1) fail("a phase unit's result has an impossible size");
    terms.diagonal = in.values(terms.total.size());
    terms.window = in.values(terms.total.size());
    terms.positions = std::pow(static_cast<double>(config.s), static_cast<double>(level));
    const uint64_t pairs = in.count();
    if (pairs != level) fail("a phase unit's result has an impossible size");
    for (uint64_t k = 0; k < pairs; ++k) terms.by_lca.push_back(in.values(terms.total.size()));
    measures.changes.push_back(std::move(terms));
  }
  if (in.at != bytes.size()) fail("a phase unit's result has trailing bytes");
  check_unit_values(measures, config, L, reduced);
  return measures;
}

UnitMeasures run_phase_unit_measures(const PhaseConfig& config, const PhaseUnit& unit) {
  const uint64_t grammar_seed = config.grammar_seeds[unit.seed_index];
  UnitMeasures measures = config.kind == DataKind::markov ? run_markov_unit(config, unit.L, grammar_seed, unit.noise_index)
                                                          : run_phase_unit(config, unit.L, grammar_seed, unit.noise_index);
  if (travels_reduced(config)) return reduce_unit_measures(measures, config.samples, unit.L);
  return measures;
}

std::string run_phase_unit_result(const PhaseConfig& config, const PhaseUnit& unit) {
  return encode_unit_measures(run_phase_unit_measures(config, unit));
}

std::string phase_run_identity(const std::vector<PhaseConfig>& grid) {
  nlohmann::json configs = nlohmann::json::array();
  for (const auto& config : grid) configs.push_back(phase_config_to_json(config));
  // The measures' format too: a journal of units in another layout belongs to another run.
  return nlohmann::json{{"command", "phase"},
                        {"hdiff_version", version()},
                        {"git_commit", git_commit()},
                        {"measures_format", kMeasuresFormat & 0xffff},
                        {"grid", configs}}
      .dump();
}

PhaseCollector::PhaseCollector(const std::vector<PhaseConfig>& grid, std::vector<PhaseUnit> units)
    : grid_(grid), units_(std::move(units)) {}

void PhaseCollector::add(int64_t unit, UnitMeasures measures) {
  HDIFF_CHECK(unit >= 0 && unit < static_cast<int64_t>(units_.size()));
  const PhaseUnit& where = units_[static_cast<size_t>(unit)];
  const PhaseConfig& config = grid_[where.grid_point];
  const int64_t first = unit - static_cast<int64_t>(where.seed_index);
  const size_t seeds = config.grammar_seeds.size();
  auto& slots = waiting_[first];
  auto& arrived = arrived_[first];
  if (slots.empty()) {
    slots.resize(seeds);
    arrived.assign(seeds, 0);
  }
  HDIFF_CHECK(!arrived[where.seed_index]);
  slots[where.seed_index] = std::move(measures);
  arrived[where.seed_index] = 1;
  for (int8_t seen : arrived)
    if (!seen) return;
  rows_[first] = travels_reduced(config) ? summarise_reduced(where.L, where.noise_index, slots, config.samples,
                                                             config.trajectories, information_sample_count(config))
                                         : summarise(where.L, where.noise_index, slots, config.samples,
                                                     config.trajectories, information_sample_count(config));
  // The control measures the tokens alone (experiment/markov_unit.h): its placeholder levels leave no row.
  if (config.kind == DataKind::markov) std::erase_if(rows_[first], [&](const PhaseRow& row) { return row.level != where.L; });
  waiting_.erase(first);
  arrived_.erase(first);
}

std::vector<PhaseResults> PhaseCollector::results(bool interrupted) const {
  std::vector<PhaseResults> results(grid_.size());
  for (const auto& [first, rows] : rows_)
    for (const auto& row : rows) results[units_[static_cast<size_t>(first)].grid_point].rows.push_back(row);
  for (auto& result : results) result.interrupted = interrupted;
  return results;
}

PhaseResults run_phase(const PhaseConfig& config, const std::function<void(int64_t)>& on_progress) {
  const std::vector<PhaseConfig> grid{config};
  const std::vector<PhaseUnit> units = phase_units(grid);
  PhaseCollector collector(grid, units);
  size_t added = 0;
  const auto run = [&](int64_t index) -> std::optional<UnitMeasures> {
    if (interrupted()) return std::nullopt;
    UnitMeasures measures = run_phase_unit_measures(config, units[static_cast<size_t>(index)]);
    if (interrupted()) return std::nullopt;  // the unit may be incomplete
    return measures;
  };
  const auto add = [&](int64_t index, std::optional<UnitMeasures> measures) {
    if (!measures) return;
    collector.add(index, std::move(*measures));
    ++added;
    if (on_progress) on_progress(config.samples * config.trajectories);
  };
  const auto count = static_cast<int64_t>(units.size());
  if (run_units_side_by_side(grid, units.size(), 1, thread_count())) {
    parallel_for_consuming(count, run, add);
  } else {
    for (int64_t index = 0; index < count && !interrupted(); ++index) add(index, run(index));
  }
  return collector.results(added < units.size())[0];
}

}  // namespace hdiff
