// placeholder while the core is being written
#include "cli/commands.h"
namespace hdiff::cli {
void add_phase_command(CLI::App& app) { app.add_subcommand("phase", "(in progress)"); }
}  // namespace hdiff::cli
