// hdiff: the command-line entry point of the core (no LibTorch). The LibTorch
// commands (`hdiff images ...`; cli/torch_handoff.h lists them) hand over to
// hdiff-torch, so that every other command starts without loading LibTorch.

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/entry.h"
#include "cli/option_checks.h"
#include "cli/torch_handoff.h"
#include "cluster/cluster.h"
#include "common/omp_wait_policy.h"

int main(int argc, char** argv) {
  hdiff::prefer_passive_omp_wait(argv);  // before anything else: it may start the program again
  if (argc >= 2 && hdiff::cli::is_torch_command(argv[1])) return hdiff::cli::hand_over_to_torch(argc, argv);
  // After the hand-over: hdiff-torch starts MPI itself when it is launched under mpirun.
  hdiff::cluster::start(&argc, &argv);
  CLI::App app{hdiff::cli::kDescription};
  hdiff::cli::configure_app(app);
  hdiff::cli::add_grammar_command(app);
  hdiff::cli::add_sample_command(app);
  hdiff::cli::add_corrupt_command(app);
  hdiff::cli::add_denoise_command(app);
  hdiff::cli::add_phase_command(app);
  hdiff::cli::add_theory_command(app);
  hdiff::cli::add_torch_placeholders(app);
  hdiff::cli::add_option_checks(app);
  return hdiff::cli::run_app(app, argc, argv);
}
