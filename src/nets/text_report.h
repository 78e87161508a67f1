#pragma once
// The tables and figure of `hdiff net train` on text (docs/text.md): the MDLM
// bound in bits per token of every checkpoint on training and validation
// sequences. Plain C++: no LibTorch.

#include <cstdint>
#include <string>
#include <vector>

#include "common/output.h"
#include "experiment/changes.h"

namespace hdiff::nets {

struct TextCheckpointMeasures {
  int64_t step = 0;
  Estimate train_bits, validation_bits;  // bits per token (per character for characters)
};

// bits.csv: step,split,bits_per_token,bits_per_token_se (split: train, validation).
std::string bits_csv(const std::vector<TextCheckpointMeasures>& checkpoints);
// Writes bits.csv and bits.png/.svg/.pdf (bits per token against step).
void write_text_report(const std::vector<TextCheckpointMeasures>& checkpoints, const std::string& unit,
                       OutputDir& out);
// The terminal's summary: the bits of every checkpoint.
std::string text_summary(const std::vector<TextCheckpointMeasures>& checkpoints, const std::string& unit);

}  // namespace hdiff::nets
