#pragma once
// `hdiff net train` (docs/networks.md): trains a denoiser on P strings of a
// grammar, writes log-spaced checkpoints, then measures every checkpoint and
// the final model against exact BP. This header holds no LibTorch, so the CLI
// file that includes it compiles fast.
//
// Guarantees:
// - the same config, seed and thread count give byte-identical weights
//   (model.safetensors); every random draw of a step comes from hdiff's
//   counter-based streams (nets/training_batch.h), the initial weights from
//   torch::manual_seed(train seed);
// - `resume` continues from the last checkpoint in DIR with the Adam state and
//   reaches the weights of an uninterrupted run, byte for byte;
// - a checkpoint of another grammar, architecture, process or training setup,
//   or a damaged one, is refused by name before any work;
// - Ctrl-C writes a checkpoint at the last finished step and stops (exit 130
//   from the CLI); a NaN or infinite loss stops with one error naming the step
//   and the last good checkpoint, which is kept;
// - the results (model.safetensors, the CSVs, figures, run.json) appear all
//   together at the end (OutputDir); checkpoints are written one by one, each
//   atomically, into DIR/checkpoints.

#include <filesystem>
#include <string>

#include <vector>

#include "denoiser/measure.h"
#include "nets/net_config.h"

namespace hdiff::nets {

struct TrainJob {
  NetConfig config;
  std::string config_text;  // the TOML given (kept in the checkpoints' metadata)
  std::filesystem::path out;
  bool resume = false;
  bool force = false;
  int threads = 1;  // 0: LibTorch's default (every core)
};

struct TrainOutcome {
  int64_t first_step = 0;      // the step training started from (0, or the resumed checkpoint's)
  int64_t step = 0;            // the step reached
  bool interrupted = false;    // Ctrl-C: a checkpoint was kept, nothing else written
  bool time_budget_hit = false;
  double train_seconds = 0, measure_seconds = 0;
  int threads = 1;
  int64_t parameters = 0;
  std::string summary;         // the measurements' summary for the terminal
  // The final model's measures (empty when interrupted).
  SampleQuality samples;                 // samples from pure noise
  std::vector<LossRow> loss;             // loss.csv
  std::vector<DenoiserPhaseRow> phase;   // comparison.csv
};

TrainOutcome run_net_train(const TrainJob& job);

// The thread count a job runs with: `requested`, or LibTorch's default for 0.
int training_threads(int requested);

}  // namespace hdiff::nets
