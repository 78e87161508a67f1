#pragma once
// The tables and figures of `hdiff net train` (docs/networks.md, "Outputs"):
// validity.csv, samples.csv, train_loss.csv, loss.csv, comparison.csv and their
// figures, written into an OutputDir. Plain C++: no LibTorch.

#include <cstdint>
#include <vector>

#include "common/output.h"
#include "denoiser/measure.h"
#include "nets/net_config.h"

namespace hdiff::nets {

// What was measured of one checkpoint.
struct CheckpointMeasures {
  int64_t step = 0;
  SampleQuality samples;         // strings generated from pure noise
  std::vector<LossRow> train;    // losses on training strings, per noise level
  std::vector<LossRow> test;     // the same on held-out strings
};

// What was measured of the final model.
struct FinalMeasures {
  std::vector<LossRow> loss;               // on fresh held-out strings
  std::vector<DenoiserPhaseRow> phase;     // forward–backward beside BP
};

// CSV texts (header line first). Column contracts (checked from outside):
// validity.csv step,level,validity; loss.csv noise,loss_net,loss_net_se,
// loss_bayes,loss_bayes_se; comparison.csv noise,level,agreement_net,agreement_bp
// (loss.csv and comparison.csv are denoiser/tables.h's tables; train_loss.csv is
// its loss table per checkpoint with the columns step,split first).
std::string validity_csv(const std::vector<CheckpointMeasures>& checkpoints);
std::string samples_csv(const std::vector<CheckpointMeasures>& checkpoints);
std::string train_loss_csv(Channel channel, const std::vector<CheckpointMeasures>& checkpoints);

// Writes the CSVs and the figures (validity per level against step, loss
// against the Bayes floor against noise, agreement net vs BP per level) into `out`.
void write_net_report(const NetConfig& config, const std::vector<CheckpointMeasures>& checkpoints,
                      const FinalMeasures& final_measures, OutputDir& out);

// The summary printed at the end: validity per level of the last checkpoint,
// and the excess loss over the floor per noise level.
std::string net_summary(const std::vector<CheckpointMeasures>& checkpoints, const FinalMeasures& final_measures);

}  // namespace hdiff::nets
