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
// in [0, kMaxThreads]; to every integer (list items too): decimal digits only,
// no leading zero, no hex or octal, no '+', '-' only for signed types, nothing
// past int64's (uint64's) range; to comma-separated lists: no item twice.
// Every subcommand gets a help footer saying so (and that inputs must be
// regular files).
void add_option_checks(CLI::App& app);

// Exempts a list option whose items form a sequence rather than a set (a
// stage's blocks per stage, 2,2,2) from the "no item twice" check.
CLI::Option* allow_repeated_items(CLI::Option* option);

// Checks, before CLI11 splits them, the comma-separated lists given to the
// options of the subcommand argv[1] that take lists: no empty item (CLI11
// would drop it: `--noise 0.1,,0.2` is not two levels). Throws
// CLI::ValidationError naming the option; does nothing when help is asked for.
// (An item given twice is refused after parsing, by add_option_checks.)
void check_list_arguments(const CLI::App& app, int argc, const char* const* argv);

}  // namespace hdiff::cli
