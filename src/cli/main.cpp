// hdiff: the command-line entry point. Every user error ends here as one line on
// stderr and exit code 2; internal errors exit with 3.

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "cli/option_checks.h"
#include "common/error.h"
#include "common/version.h"

int main(int argc, char** argv) {
  CLI::App app{"hdiff: hierarchical structure of diffusion, measured exactly on the Random Hierarchy Model "
               "and on image diffusion models"};
  app.set_version_flag("--version", fmt::format("hdiff {} ({})", hdiff::version(), hdiff::git_commit()));
  app.require_subcommand(1);
  hdiff::cli::add_grammar_command(app);
  hdiff::cli::add_sample_command(app);
  hdiff::cli::add_denoise_command(app);
  hdiff::cli::add_phase_command(app);
  hdiff::cli::add_theory_command(app);
#ifdef HDIFF_WITH_TORCH
  hdiff::cli::add_images_command(app);
#endif
  hdiff::cli::add_option_checks(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "hdiff: error: {} (see --help)\n", e.what());
    return 2;
  } catch (const hdiff::Error& e) {
    fmt::print(stderr, "hdiff: error: {}\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "hdiff: error: out of memory; reduce the number of samples or the depth L\n");
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "hdiff: internal error (please report): {}\n", e.what());
    return 3;
  }
  return 0;
}
