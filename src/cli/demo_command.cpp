// placeholder while the core is being written
#include "cli/commands.h"
namespace hdiff::cli {
void add_demo_command(CLI::App& app) { app.add_subcommand("demo", "(in progress)"); }
}  // namespace hdiff::cli
