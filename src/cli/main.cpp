// hdiff: the command-line entry point of the core (no LibTorch). `hdiff images
// ...` hands over to hdiff-images, the executable that holds the image commands,
// so that every other command starts without loading LibTorch.

#include <CLI/CLI.hpp>

#include <cstring>

#include "cli/commands.h"
#include "cli/entry.h"
#include "cli/images_handoff.h"
#include "cli/option_checks.h"
#include "cluster/cluster.h"
#include "common/omp_wait_policy.h"

int main(int argc, char** argv) {
  hdiff::prefer_passive_omp_wait(argv);  // before anything else: it may start the program again
  if (argc >= 2 && std::strcmp(argv[1], "images") == 0) return hdiff::cli::hand_over_to_images(argc, argv);
  // After the hand-over: hdiff-images starts MPI itself when it is launched under mpirun.
  hdiff::cluster::start(&argc, &argv);
  CLI::App app{hdiff::cli::kDescription};
  hdiff::cli::configure_app(app);
  hdiff::cli::add_grammar_command(app);
  hdiff::cli::add_sample_command(app);
  hdiff::cli::add_corrupt_command(app);
  hdiff::cli::add_denoise_command(app);
  hdiff::cli::add_phase_command(app);
  hdiff::cli::add_theory_command(app);
  hdiff::cli::add_images_placeholder(app);
  hdiff::cli::add_option_checks(app);
  return hdiff::cli::run_app(app, argc, argv);
}
