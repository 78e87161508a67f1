#pragma once
// The common end of both executables (hdiff and hdiff-torch): parse the
// command line, run the chosen command, and turn every error into one line on
// stderr with exit code 2 (user errors) or 3 (internal errors).

#include <CLI/CLI.hpp>

namespace hdiff::cli {

// What hdiff is, the first line of `hdiff --help`.
inline constexpr const char* kDescription =
    "hdiff: hierarchical structure of diffusion, measured exactly on the Random Hierarchy Model and on image "
    "diffusion models";

// Gives the top-level app hdiff's --version flag and requires one subcommand.
void configure_app(CLI::App& app);

// Parses argv into `app`, runs its callbacks and returns the process exit code.
int run_app(CLI::App& app, int argc, const char* const* argv);

}  // namespace hdiff::cli
