// hdiff-torch: the commands that need LibTorch (cli/torch_handoff.h lists
// them: `images` and `net`). `hdiff COMMAND ARGS` for one of them runs hdiff-torch
// with the same arguments, so `hdiff-torch COMMAND ARGS` run directly means the
// same as `hdiff COMMAND ARGS`.

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/entry.h"
#include "cli/option_checks.h"
#include "cluster/cluster.h"
#include "common/omp_wait_policy.h"

int main(int argc, char** argv) {
  hdiff::prefer_passive_omp_wait(argv);  // before anything else: it may start the program again
  hdiff::cluster::start(&argc, &argv);
  CLI::App app{hdiff::cli::kDescription};
  hdiff::cli::configure_app(app);
  hdiff::cli::add_images_command(app);
  hdiff::cli::add_net_command(app);
  hdiff::cli::add_option_checks(app);
  return hdiff::cli::run_app(app, argc, argv);
}
