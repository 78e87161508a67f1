#pragma once
// Checkpoints of `hdiff net train` (docs/networks.md, "Checkpoints"):
// DIR/checkpoints/step-NNNNNNN.safetensors holding the network's state dict
// (its own names), the Adam state of every parameter P as adam.P.exp_avg,
// adam.P.exp_avg_sq and adam.P.step, and metadata naming what they belong to.
// Loading goes through hdiff's no-exec reader and load_state (libtorch/
// torch_state.h), and refuses by name a damaged file and a checkpoint of
// another grammar, architecture, process or training setup.
// LibTorch: include only from LibTorch translation units.

#include <torch/optim/adam.h>

#include <filesystem>
#include <string>
#include <vector>

#include "image/checkpoint/safetensors_writer.h"
#include "nets/checkpoint_files.h"
#include "nets/networks.h"

namespace hdiff::nets {

// The "format" entry of every checkpoint's metadata.
inline constexpr const char* kFormat = "hdiff net checkpoint 1";

// The metadata of a checkpoint (or of model.safetensors) of `config` at `step`;
// `config_text` is the TOML the run was given, kept for the record.
ckpt::Metadata checkpoint_metadata(const NetConfig& config, int64_t step, const std::string& config_text);

// The file's bytes: the network's tensors, then (with an optimizer) its state.
std::string checkpoint_bytes(TokenNetwork& network, const torch::optim::Adam* adam, const ckpt::Metadata& metadata);

// Loads `path` into `network` (and, when given, `adam`) after checking that its
// metadata matches `config` (grammar, architecture, process; with an optimizer
// also the training setup). Returns the step it was written at.
int64_t load_checkpoint(const std::filesystem::path& path, const NetConfig& config, TokenNetwork& network,
                        torch::optim::Adam* adam);

}  // namespace hdiff::nets
