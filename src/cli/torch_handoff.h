#pragma once
// The one seam between the two executables. The core executable (hdiff) holds
// no LibTorch; every command that needs it lives in hdiff-torch, installed
// beside hdiff, and `hdiff COMMAND ...` for such a command hands over to it.
// A new LibTorch command (a trained network, a training loop) is one more
// entry in kTorchCommands and one add_*_command in torch_main.cpp.

#include <CLI/CLI.hpp>

#include <array>
#include <string_view>

namespace hdiff::cli {

// Name of the executable that holds the LibTorch commands, beside hdiff.
inline constexpr const char* kTorchExecutable = "hdiff-torch";

// A command that lives in hdiff-torch, and what `hdiff --help` says of it.
struct TorchCommand {
  const char* name;
  const char* description;
};

// Every LibTorch command, in the order `hdiff --help` lists them.
inline constexpr std::array<TorchCommand, 2> kTorchCommands{{
    {"images", "Image diffusion: ADM forward-backward and the classifier probe (see `hdiff images --help`)"},
    {"net", "Trained denoisers: RHM data against exact BP, and text (see `hdiff net train --help`)"},
}};

// Whether `name` is one of kTorchCommands.
bool is_torch_command(std::string_view name);

// Replaces this process by hdiff-torch with the same arguments; returns 2 with
// a one-line error when it is missing (a build without LibTorch) or cannot run.
int hand_over_to_torch(int argc, char** argv);

// Lists every LibTorch command in `hdiff --help`; they never run here, since
// main hands over first.
void add_torch_placeholders(CLI::App& app);

}  // namespace hdiff::cli
