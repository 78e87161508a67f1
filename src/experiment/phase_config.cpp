#include "experiment/phase_config.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>
#include <fmt/ranges.h>

#include "common/error.h"
#include "common/first_few.h"
#include "common/memory.h"
#include "common/parallel.h"
#include "common/toml_input.h"
#include "grammar/grammar.h"

namespace hdiff {

const char* const kDefaultPhaseConfig = R"(# hdiff phase (preset pnas2025-rhm-soft): the papers' grammar (v = n_c = 32, m = 8,
# s = 2) under their epsilon-process, hdiff's channel "soft" (Sclocchi, Favero, Wyart,
# PNAS 2025, arXiv:2402.16991): every token is kept and its evidence softens to
# (1 - epsilon)[o = a] + epsilon/v. The class curves of different L cross at the
# critical noise (mean field and density evolution: epsilon* = 0.731), where the
# token susceptibility chi_L, over the 2 trajectories of each clean sample, peaks.
[grammar]
v = 32
classes = 32
m = 8
s = 2
L = [3, 4, 5, 6, 7]
seeds = 4

[noise]
channel = "soft"
values = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.65, 0.68, 0.7, 0.71,
          0.72, 0.73, 0.74, 0.75, 0.76, 0.78, 0.8, 0.85, 0.9, 1.0]

[run]
samples = 1000
trajectories = 2
seed = 0

[report]
theory = true
)";

namespace {

const char* kind_of(const toml::node& node) {
  if (node.is_string()) return "a string";
  if (node.is_floating_point()) return "a number with a fraction";
  if (node.is_boolean()) return "a boolean";
  if (node.is_integer()) return "an integer";
  if (node.is_array()) return "a list";
  if (node.is_table()) return "a table";
  return "another type";
}

const toml::table& section(const toml::table& root, const char* name, const std::string& source) {
  const auto* node = root.get(name);
  if (!node) fail("{}: missing section [{}]", source, name);
  if (!node->is_table()) fail("{}: '{}' must be a section [{}]", toml_where(source, *node), name, name);
  return *node->as_table();
}

int64_t integer(const toml::table& table, const std::string& section_name, const char* key, const std::string& source,
                int64_t low, int64_t high) {
  const auto* node = table.get(key);
  if (!node) fail("{}: missing key {}.{}", source, section_name, key);
  // is_integer() first: toml++'s value<int64_t>() of a float out of int64's range is undefined behaviour.
  const auto value = node->is_integer() ? node->value<int64_t>() : std::nullopt;
  if (!value)
    fail("{}: {}.{} must be an integer, found {}", toml_where(source, *node), section_name, key, kind_of(*node));
  if (*value < low || *value > high)
    fail("{}: {}.{} = {} is out of range; it must lie in [{}, {}]", toml_where(source, *node), section_name, key, *value, low, high);
  return *value;
}

std::string string_value(const toml::node& node, const std::string& name, const std::string& source) {
  if (!node.is_string()) fail("{}: {} must be a string", toml_where(source, node), name);
  return std::string(*node.value<std::string>());
}

std::vector<double> number_list(const toml::node& node, const std::string& name, const std::string& source) {
  const auto* array = node.as_array();
  if (!array) fail("{}: {} must be a list of numbers, e.g. [0.1, 0.2]", toml_where(source, node), name);
  if (array->empty()) fail("{}: {} is empty; give at least one value", toml_where(source, node), name);
  std::vector<double> values;
  for (const auto& element : *array) {
    if (!element.is_number()) fail("{}: {} must contain only numbers", toml_where(source, element), name);
    values.push_back(*element.value<double>());
  }
  return values;
}

}  // namespace

namespace {

// An integer or a non-empty list of distinct integers, each in [low, high].
std::vector<int> integer_list(const toml::table& table, const std::string& section_name, const char* key,
                              const std::string& source, int64_t low, int64_t high) {
  const auto* node = table.get(key);
  if (!node) fail("{}: missing key {}.{}", source, section_name, key);
  if (!node->is_array()) return {static_cast<int>(integer(table, section_name, key, source, low, high))};
  const auto* array = node->as_array();
  if (array->empty()) fail("{}: {}.{} is an empty list; give a value or a list of values", toml_where(source, *node), section_name, key);
  std::vector<int> values;
  for (const auto& element : *array) {
    const auto value = element.is_integer() ? element.value<int64_t>() : std::nullopt;
    if (!value) fail("{}: {}.{} must list integers, found {}", toml_where(source, element), section_name, key, kind_of(element));
    if (*value < low || *value > high)
      fail("{}: {}.{} holds {}, out of range; it must lie in [{}, {}]", toml_where(source, element), section_name, key, *value, low, high);
    values.push_back(static_cast<int>(*value));
  }
  if (std::set<int>(values.begin(), values.end()).size() != values.size())
    fail("{}: {}.{} lists a value twice", toml_where(source, *node), section_name, key);
  return values;
}

std::string grammar_name(const PhaseConfig& config) {
  return fmt::format("v={} classes={} m={} s={}", config.v, config.n_classes, config.m, config.s);
}

// Every combination of the grammar lists, v outermost and s innermost, each checked;
// the invalid ones are listed together in one error.
std::vector<PhaseConfig> expand_grid(const PhaseConfig& base, const std::vector<int>& vs, const std::vector<int>& classes,
                                     const std::vector<int>& ms, const std::vector<int>& ss, const std::string& source) {
  // Bounded before anything is allocated: lists of a few hundred values each would otherwise multiply.
  const double combinations = static_cast<double>(vs.size()) * static_cast<double>(classes.size()) *
                              static_cast<double>(ms.size()) * static_cast<double>(ss.size());
  if (combinations > kMaxGrammarGrid)
    fail("{}: the lists of v, classes, m and s give {:.0f} grammar combinations, more than the {} one run takes; split "
         "the grid into several configs", source, combinations, kMaxGrammarGrid);
  std::vector<PhaseConfig> grid;
  for (int v : vs)
    for (int n_classes : classes)
      for (int m : ms)
        for (int s : ss) {
          PhaseConfig config = base;
          config.v = v;
          config.n_classes = n_classes;
          config.m = m;
          config.s = s;
          grid.push_back(config);
        }
  if (grid.size() == 1) {
    validate(grid[0], source);
    return grid;
  }
  std::vector<std::string> invalid;
  for (const auto& config : grid) {
    try {
      validate(config, source);
    } catch (const Error& e) {
      std::string message = e.what();
      if (message.rfind(source + ": ", 0) == 0) message = message.substr(source.size() + 2);
      invalid.push_back(fmt::format("[{}] {}", grammar_name(config), message));
    }
  }
  if (!invalid.empty())
    fail("{}: {} of the {} grammar combinations of the lists are invalid: {}; remove those values or split the grid",
         source, invalid.size(), grid.size(), first_few(invalid));
  // The whole grid's work is counted exactly in int64, as one config's is.
  double trajectories = 0;
  for (const auto& config : grid)
    trajectories += static_cast<double>(config.samples) * config.trajectories *
                    static_cast<double>(config.grammar_seeds.size() * config.noise.size() * config.depths.size());
  if (trajectories > 0x1p53)
    fail("{}: the grid asks for {:.3g} forward-backward trajectories, more than can be counted exactly; lower "
         "run.samples or split the grid", source, trajectories);
  return grid;
}

}  // namespace

std::vector<PhaseConfig> parse_phase_grid(const std::string& text, const std::string& source) {
  const toml::table root = parse_toml_input(text, source);
  reject_unknown_keys(root, "", {"grammar", "noise", "run", "report", "changes", "information"}, source);
  PhaseConfig config;

  const auto& grammar = section(root, "grammar", source);
  reject_unknown_keys(grammar, "grammar.", {"kind", "v", "classes", "m", "s", "L", "seeds"}, source);
  if (const auto* node = grammar.get("kind")) {
    const std::string kind = string_value(*node, "grammar.kind", source);
    if (kind == "markov")
      config.kind = DataKind::markov;
    else if (kind != "rhm")
      fail("{}: grammar.kind = \"{}\" is unknown; give \"rhm\" (the default) or \"markov\" (the non-hierarchical "
           "control)", toml_where(source, *node), kind);
  }
  const std::vector<int> vs = integer_list(grammar, "grammar", "v", source, 2, 1 << 20);
  const std::vector<int> classes = integer_list(grammar, "grammar", "classes", source, 1, 1 << 20);
  const std::vector<int> ms = integer_list(grammar, "grammar", "m", source, 1, 1 << 20);
  const std::vector<int> ss = integer_list(grammar, "grammar", "s", source, 2, 16);
  {
    const auto* node = grammar.get("L");
    if (!node) fail("{}: missing key grammar.L (a list of depths, e.g. L = [2, 4, 6])", source);
    config.depths.clear();
    // Depths are range-checked as int64 before narrowing, so 2^32 + 2 is not read as 2.
    const auto depth = [&](const toml::node& element) {
      const int64_t L = *element.value<int64_t>();
      if (L < 1 || L > 30) fail("{}: grammar.L holds {}, out of range; depths lie in [1, 30]", toml_where(source, element), L);
      return static_cast<int>(L);
    };
    if (node->is_integer()) {
      config.depths.push_back(depth(*node));
    } else if (const auto* array = node->as_array(); array && !array->empty()) {
      for (const auto& element : *array) {
        if (!element.is_integer()) fail("{}: grammar.L must be a list of integers", toml_where(source, element));
        config.depths.push_back(depth(element));
      }
    } else {
      fail("{}: grammar.L must be a non-empty list of integers, e.g. L = [2, 4, 6]", toml_where(source, *node));
    }
    for (int L : config.depths)
      if (L < 1 || L > 30) fail("{}: grammar.L holds {}, out of range; depths lie in [1, 30]", toml_where(source, *node), L);
    if (std::set<int>(config.depths.begin(), config.depths.end()).size() != config.depths.size())
      fail("{}: grammar.L lists a depth twice", toml_where(source, *node));
  }
  {
    const auto* node = grammar.get("seeds");
    if (!node) fail("{}: missing key grammar.seeds (a count, or a list of grammar seeds)", source);
    config.grammar_seeds.clear();
    if (node->is_integer()) {
      const auto count = *node->value<int64_t>();
      if (count < 1 || count > 100000) fail("{}: grammar.seeds = {} is out of range; give a count in [1, 100000]", toml_where(source, *node), count);
      for (int64_t g = 0; g < count; ++g) config.grammar_seeds.push_back(static_cast<uint64_t>(g));
    } else if (const auto* array = node->as_array(); array && !array->empty()) {
      for (const auto& element : *array) {
        if (!element.is_integer() || *element.value<int64_t>() < 0)
          fail("{}: grammar.seeds must list non-negative integers", toml_where(source, element));
        config.grammar_seeds.push_back(static_cast<uint64_t>(*element.value<int64_t>()));
      }
      if (std::set<uint64_t>(config.grammar_seeds.begin(), config.grammar_seeds.end()).size() != config.grammar_seeds.size())
        fail("{}: grammar.seeds lists a seed twice", toml_where(source, *node));
    } else {
      fail("{}: grammar.seeds must be a count or a non-empty list of seeds", toml_where(source, *node));
    }
  }

  const auto& noise = section(root, "noise", source);
  reject_unknown_keys(noise, "noise.", {"channel", "values", "schedule", "times"}, source);
  if (const auto* node = noise.get("channel")) {
    try {
      config.channel = parse_channel(string_value(*node, "noise.channel", source));
    } catch (const Error& e) {
      fail("{}: {}", toml_where(source, *node), e.what());
    }
  } else {
    fail("{}: missing key noise.channel (uniform, mask, gaussian or soft)", source);
  }
  const auto* values = noise.get("values");
  const auto* schedule = noise.get("schedule");
  const auto* times = noise.get("times");
  if (values && (schedule || times))
    fail("{}: give either noise.values or noise.schedule with noise.times, not both", toml_where(source, *values));
  if (values) {
    for (double level : number_list(*values, "noise.values", source)) {
      try {
        validate(NoiseSpec{config.channel, level});
      } catch (const Error& e) {
        fail("{}: noise.values: {}", toml_where(source, *values), e.what());
      }
      config.noise.push_back({level, std::nullopt});
    }
  } else if (schedule || times) {
    if (!schedule) fail("{}: noise.times needs noise.schedule = \"linear\" or \"cosine\"", toml_where(source, *times));
    if (!times) fail("{}: noise.schedule needs noise.times, a list of diffusion steps in [0, {}]", toml_where(source, *schedule), kDiffusionSteps);
    try {
      config.schedule = parse_schedule(string_value(*schedule, "noise.schedule", source));
    } catch (const Error& e) {
      fail("{}: {}", toml_where(source, *schedule), e.what());
    }
    for (double t : number_list(*times, "noise.times", source)) {
      double alpha_bar = 0;
      try {
        alpha_bar = alpha_bar_at(*config.schedule, t);
      } catch (const Error& e) {
        fail("{}: noise.times: {}", toml_where(source, *times), e.what());
      }
      const double level = config.channel == Channel::gaussian ? alpha_bar : 1.0 - alpha_bar;
      try {
        validate(NoiseSpec{config.channel, level});
      } catch (const Error& e) {
        fail("{}: noise.times: time {}: {}", toml_where(source, *times), t, e.what());
      }
      config.noise.push_back({level, t});
    }
  } else {
    fail("{}: section [noise] needs values = [...] or schedule = \"...\" with times = [...]", source);
  }
  // A level given twice would give duplicate rows (as duplicate depths and seeds would).
  std::set<double> levels;
  for (size_t i = 0; i < config.noise.size(); ++i)
    if (!levels.insert(config.noise[i].level).second)
      fail("{}: noise.{} gives noise level {} twice; list each level once", toml_where(source, values ? *values : *times),
           values ? "values" : "times", config.noise[i].level);

  const auto& run = section(root, "run", source);
  reject_unknown_keys(run, "run.", {"samples", "seed", "trajectories", "precision"}, source);
  config.samples = integer(run, "run", "samples", source, 1, int64_t{1} << 40);
  if (run.get("trajectories"))
    config.trajectories = static_cast<int>(integer(run, "run", "trajectories", source, 1, 1000000));
  config.seed = static_cast<uint64_t>(integer(run, "run", "seed", source, 0, INT64_MAX));
  if (const auto* node = run.get("precision")) {
    try {
      config.precision = parse_precision(string_value(*node, "run.precision", source));
    } catch (const Error& e) {
      fail("{}: run.precision: {}", toml_where(source, *node), e.what());
    }
  }
  // [changes] is optional: the distance R of the windowed susceptibility.
  if (const auto* node = root.get("changes")) {
    if (!node->is_table()) fail("{}: 'changes' must be a section [changes]", toml_where(source, *node));
    const auto& changes = *node->as_table();
    reject_unknown_keys(changes, "changes.", {"window"}, source);
    if (changes.get("window"))
      config.change_window = static_cast<int>(integer(changes, "changes", "window", source, 1, 1 << 20));
  }
  // [information] is optional: how many clean samples give information.csv (each costs a few BP passes).
  if (const auto* node = root.get("information")) {
    if (!node->is_table()) fail("{}: 'information' must be a section [information]", toml_where(source, *node));
    const auto& information = *node->as_table();
    reject_unknown_keys(information, "information.", {"samples"}, source);
    if (information.get("samples"))
      config.information_samples = integer(information, "information", "samples", source, 1, int64_t{1} << 40);
  }

  // [report] is optional: what the stdout summary adds; it changes no result.
  if (const auto* node = root.get("report")) {
    if (!node->is_table()) fail("{}: 'report' must be a section [report]", toml_where(source, *node));
    const auto& report = *node->as_table();
    reject_unknown_keys(report, "report.", {"theory"}, source);
    if (const auto* theory = report.get("theory")) {
      if (!theory->is_boolean())
        fail("{}: report.theory must be true or false, found {}", toml_where(source, *theory), kind_of(*theory));
      config.report_theory = *theory->value<bool>();
      if (config.report_theory && config.kind == DataKind::markov)
        fail("{}: report.theory is the theory of the RHM's class transition; the markov control has no class: drop it",
             toml_where(source, *theory));
    }
  }
  return expand_grid(config, vs, classes, ms, ss, source);
}

PhaseConfig parse_phase_config(const std::string& text, const std::string& source) {
  std::vector<PhaseConfig> grid = parse_phase_grid(text, source);
  if (grid.size() != 1)
    fail("{}: the grammar lists give {} combinations of v, classes, m and s; this runs one grammar: give one value "
         "each, or run the grid with `hdiff phase --config`", source, grid.size());
  return grid[0];
}

namespace {

std::string read_config_text(const std::string& path) { return read_toml_text(path, "config"); }

}  // namespace

PhaseConfig load_phase_config(const std::string& path) { return parse_phase_config(read_config_text(path), path); }

std::vector<PhaseConfig> load_phase_grid(const std::string& path) { return parse_phase_grid(read_config_text(path), path); }

PhaseMemory phase_memory(const PhaseConfig& config, int L) {
  const GrammarParams params{config.v, config.n_classes, config.m, config.s, L, 0};
  // Per thread: up and down messages of a tree. Per unit, while it runs: one
  // change flag per trajectory and node, two measures per trajectory and level.
  // Per grammar of a noise point: two measures, four outcome sums and the change
  // terms per sample and level.
  // The information measures add one level's marginals per thread (and the
  // double path its messages), two levels' prior marginals per unit and three
  // measures per sample and level.
  double message_bytes = 0, nodes = 0, largest_level = 0;
  for (int level = 0; level <= L; ++level) {
    const double values = static_cast<double>(nodes_at_level(params, level)) * symbols_at_level(params, level);
    message_bytes += 16.0 * values;
    nodes += static_cast<double>(nodes_at_level(params, level));
    largest_level = std::max(largest_level, values);
  }
  const double per_thread = message_bytes * (config.precision == Precision::float64 ? 2.5 : 1.0) + 8.0 * largest_level;
  const auto samples = static_cast<double>(config.samples);
  const double per_grammar = samples * (72.0 * (L + 1) + 4.0 * (L + 1) * (L + 5));
  return {per_thread, samples * config.trajectories * (nodes + 16.0 * (L + 1) + 1) + 16.0 * largest_level,
          per_grammar * static_cast<double>(config.grammar_seeds.size())};
}

void validate(const PhaseConfig& config, const std::string& source) {
  // Counts of work are int64 in the experiment and its progress bar.
  const double trajectories = static_cast<double>(config.samples) * config.trajectories *
                              static_cast<double>(config.grammar_seeds.size()) * static_cast<double>(config.noise.size()) *
                              static_cast<double>(config.depths.size());
  if (trajectories > 0x1p53)
    fail("{}: the run asks for {:.3g} forward-backward trajectories, more than can be counted exactly; lower run.samples "
         "or run.trajectories, or split the grid", source, trajectories);
  for (int L : config.depths) {
    GrammarParams params{config.v, config.n_classes, config.m, config.s, L, 0};
    try {
      validate(params);
    } catch (const Error& e) {
      fail("{}: at L = {}: {}", source, L, e.what());
    }
    const PhaseMemory memory = phase_memory(config, L);
    const double bytes = memory.per_thread * thread_count() + memory.per_unit + memory.per_noise_point;
    check_memory(bytes, fmt::format("{}: the experiment at L = {}", source, L), "lower L or run.samples, or use fewer threads");
  }
}

nlohmann::json phase_config_to_json(const PhaseConfig& config) {
  nlohmann::json noise = nlohmann::json::array();
  for (const auto& point : config.noise) {
    nlohmann::json entry{{"noise", point.level}};
    if (point.time) entry["time"] = *point.time;
    noise.push_back(entry);
  }
  nlohmann::json out{
      {"grammar",
       {{"v", config.v},
        {"classes", config.n_classes},
        {"m", config.m},
        {"s", config.s},
        {"L", config.depths},
        {"seeds", config.grammar_seeds}}},
      {"noise", {{"channel", channel_name(config.channel)}, {"points", noise}}},
      {"run",
       {{"samples", config.samples},
        {"trajectories", config.trajectories},
        {"seed", config.seed},
        {"precision", precision_name(config.precision)}}},
      {"changes", {{"window", config.change_window}}},
      {"information", {{"samples", config.information_samples}}},
  };
  if (config.schedule) out["noise"]["schedule"] = schedule_name(*config.schedule);
  // Only the control names its kind, so an RHM run's record (and its journal's identity) is as before.
  if (config.kind == DataKind::markov) out["grammar"]["kind"] = "markov";
  return out;
}

}  // namespace hdiff
