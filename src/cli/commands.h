#pragma once
// Registration of hdiff's subcommands; each lives in its own file of src/cli.

#include <CLI/CLI.hpp>

#include "common/output.h"

namespace hdiff::cli {

// `hdiff grammar`: make, save and show grammars.
void add_grammar_command(CLI::App& app);
// `hdiff sample`: draw samples with all their latents.
void add_sample_command(CLI::App& app);
// `hdiff corrupt`: the forward noise channels on clean strings.
void add_corrupt_command(CLI::App& app);
// `hdiff denoise`: exact BP marginals, evidence and posterior samples.
void add_denoise_command(CLI::App& app);
// `hdiff phase`: the forward-backward phase-transition experiment.
void add_phase_command(CLI::App& app);
// `hdiff theory`: density-evolution predictions and the critical noise.
void add_theory_command(CLI::App& app);
// `hdiff net train`: trained denoisers on RHM data against exact BP (LibTorch; hdiff-torch only).
void add_net_command(CLI::App& app);
// `hdiff images ...`: the image diffusion pipeline (LibTorch; in hdiff-torch only, like every LibTorch command).
void add_images_command(CLI::App& app);
// `hdiff images stats|probe|experiment`: the classifier probe and the whole
// image experiment; called by add_images_command on its `images` subcommand.
void add_images_probe_commands(CLI::App& images);
// `hdiff images fashion-mnist`: the Fashion-MNIST package's images as PNG folders.
void add_images_data_commands(CLI::App& images);
// `hdiff images train-classifier`: a small ConvNeXt trained on Fashion-MNIST.
void add_images_train_commands(CLI::App& images);
// `hdiff images sample-quality`: Fréchet distance and class histogram of samples from pure noise.
void add_images_quality_commands(CLI::App& images);

// Adds --force to `command`: a command refuses to replace another run's results
// in its --out unless it is given (docs/security.md, "Output folders").
inline void add_force_flag(CLI::App& command, bool& force) {
  command.add_flag("--force", force,
                   "replace the results of an earlier run in --out (files of the same names; other files there are "
                   "left alone)");
}

}  // namespace hdiff::cli
