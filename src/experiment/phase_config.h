#pragma once
// Configuration of the forward–backward phase experiment (`hdiff phase`), read
// from TOML. Unknown keys, wrong types and out-of-range values are errors that
// name the file and line.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bp/denoise.h"
#include "experiment/changes.h"
#include "noise/channel.h"
#include "noise/schedule.h"

namespace hdiff {

// One point on the noise axis: the level passed to the channel, and the
// diffusion time it came from (when the config gives times).
struct NoisePoint {
  double level = 0;               // ε (uniform, mask) or ᾱ (gaussian)
  std::optional<double> time;     // diffusion time t, when given through a schedule
};

// Where the experiment's data come from: the Random Hierarchy Model, or the
// non-hierarchical control (src/markov: a Markov chain over the same vocabulary
// matched to the RHM grammar's adjacent-token statistics, token level only).
enum class DataKind { rhm, markov };

// The resolved experiment.
struct PhaseConfig {
  DataKind kind = DataKind::rhm;     // [grammar] kind = "rhm" (default) or "markov"
  int v = 32;
  int n_classes = 32;
  int m = 8;
  int s = 2;
  std::vector<int> depths = {2, 3, 4, 5, 6};  // the values of L
  std::vector<uint64_t> grammar_seeds = {0, 1, 2, 3};
  Channel channel = Channel::uniform;
  std::optional<Schedule> schedule;  // set when the noise axis is given as times
  std::vector<NoisePoint> noise;
  int64_t samples = 2000;            // clean samples per grammar seed and noise point
  int trajectories = 1;              // forward–backward trajectories per clean sample
  uint64_t seed = 0;                 // seed of samples, noise and posterior draws
  Precision precision = Precision::float32;  // [run] precision: "float" (batch path) or "double" (reference path)
  int change_window = kDefaultChangeWindow;  // [changes] window: R of changes.csv's susceptibility_window
  int64_t information_samples = 50;          // [information] samples: the first K clean samples give information.csv
  // [report] theory: print the theories' critical noise beside the measured crossings
  // (density evolution takes a few seconds); changes no result and no file.
  bool report_theory = false;
};

// The embedded default (preset pnas2025-rhm-soft): the papers' grammar (v = n_c = 32,
// m = 8, s = 2, L = 3..7) under their ε-process (channel soft) at 21 levels in [0, 1],
// finest around ε* ≈ 0.731, 4 grammar seeds × 1000 samples × 2 trajectories.
extern const char* const kDefaultPhaseConfig;

// Parses TOML text of one grammar; `source` names it in errors ("file.toml", "default").
PhaseConfig parse_phase_config(const std::string& text, const std::string& source);
// Reads and parses a TOML file of one grammar.
PhaseConfig load_phase_config(const std::string& path);
// The most grammar combinations one phase config may list.
inline constexpr int kMaxGrammarGrid = 10000;

// Parses TOML text in which grammar.v, classes, m and s may be lists: one
// config per combination (v outermost, s innermost), all checked before any
// work, the invalid combinations named together in one error.
std::vector<PhaseConfig> parse_phase_grid(const std::string& text, const std::string& source);
// Reads and parses a TOML file that may hold a grid.
std::vector<PhaseConfig> load_phase_grid(const std::string& path);
// The resolved config as JSON (for run.json).
nlohmann::json phase_config_to_json(const PhaseConfig& config);
// Checks the whole config (grammar bounds at every L, noise range, memory).
void validate(const PhaseConfig& config, const std::string& source);

// The clean samples per grammar whose first trajectory's x_t gives the
// information measures: min(samples, information_samples).
inline int64_t information_sample_count(const PhaseConfig& config) {
  return config.samples < config.information_samples ? config.samples : config.information_samples;
}

// Bytes the experiment at depth L holds while it runs.
struct PhaseMemory {
  double per_thread = 0;       // one tree's messages, for each thread denoising
  double per_unit = 0;         // a running unit's per-trajectory measures
  double per_noise_point = 0;  // the measures of every grammar seed of a noise point
};
PhaseMemory phase_memory(const PhaseConfig& config, int L);

}  // namespace hdiff
