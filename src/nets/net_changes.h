#pragma once
// `hdiff net changes` (docs/text.md): forward–backward on validation text with
// a model trained by `hdiff net train` on text, and the correlated changes it
// makes (text/text_changes.h). This header holds no LibTorch.
//
// Guarantees: the model is DIR/model.safetensors, read by hdiff's no-exec
// reader; its metadata's config must be a text config (data.source = "kjv"),
// else one Error; the network runs on one LibTorch thread and every draw comes
// from counter-based streams, so the tables are byte-identical on every run of
// the same model, options and hdiff version, whatever the machine's cores; the
// results appear together at the end (OutputDir).

#include <cstdint>
#include <filesystem>
#include <string>

#include "text/text_changes.h"

namespace hdiff::nets {

struct NetChangesJob {
  std::filesystem::path model;   // the folder of `hdiff net train --out`
  std::filesystem::path out;
  bool force = false;
  int64_t sequences = 40;        // validation sequences, spread evenly over the validation books
  int64_t shown = 4;             // sequences in samples.txt
  text::TextChangesConfig changes;
};

struct NetChangesOutcome {
  double seconds = 0;
  std::string summary;  // per level: changed fraction, χ windowed, correlation length
};

NetChangesOutcome run_net_changes(const NetChangesJob& job);

}  // namespace hdiff::nets
