// hdiff-images: the image commands (LibTorch). `hdiff images ARGS` runs it with
// the same arguments; run directly, `hdiff-images ARGS` means the same as
// `hdiff images ARGS`.

#include <CLI/CLI.hpp>

#include <cstring>
#include <vector>

#include "cli/commands.h"
#include "cli/entry.h"
#include "cli/option_checks.h"
#include "cluster/cluster.h"
#include "common/omp_wait_policy.h"

int main(int argc, char** argv) {
  hdiff::prefer_passive_omp_wait(argv);  // before anything else: it may start the program again
  hdiff::cluster::start(&argc, &argv);
  std::vector<const char*> arguments(argv, argv + argc);
  if (argc < 2 || std::strcmp(argv[1], "images") != 0) arguments.insert(arguments.begin() + 1, "images");
  CLI::App app{hdiff::cli::kDescription};
  hdiff::cli::configure_app(app);
  hdiff::cli::add_images_command(app);
  hdiff::cli::add_option_checks(app);
  return hdiff::cli::run_app(app, static_cast<int>(arguments.size()), arguments.data());
}
