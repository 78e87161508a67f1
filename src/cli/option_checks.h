#pragma once
// Checks shared by every subcommand's options, applied in one place so that
// --seed and --threads mean the same everywhere.

#include <CLI/CLI.hpp>

namespace hdiff::cli {

// Most threads accepted by --threads (0 means all cores).
inline constexpr int kMaxThreads = 1024;

// Adds, to every option of `app` and its subcommands that takes a value: a
// refusal of empty values (`--noise ""` is not 0); to --seed: decimal digits in
// [0, 2^64 - 1], nothing negative, nothing that wraps; to --threads: an integer
// in [0, kMaxThreads].
void add_option_checks(CLI::App& app);

}  // namespace hdiff::cli
