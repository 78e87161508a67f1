// placeholder while the core is being written
#include "cli/commands.h"
namespace hdiff::cli {
void add_theory_command(CLI::App& app) { app.add_subcommand("theory", "(in progress)"); }
}  // namespace hdiff::cli
