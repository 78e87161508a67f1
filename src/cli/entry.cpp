// Error reporting shared by hdiff and hdiff-torch: the same messages and exit
// codes whichever executable runs the command.

#include "cli/entry.h"

#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <new>

#include "cli/option_checks.h"
#include "cluster/cluster.h"
#include "common/error.h"
#include "common/version.h"

namespace hdiff::cli {

void configure_app(CLI::App& app) {
  app.set_version_flag("--version", fmt::format("hdiff {} ({})", version(), git_commit()));
  app.require_subcommand(1);
}

int run_app(CLI::App& app, int argc, const char* const* argv) {
  // Under a launcher every rank parses the same arguments: help, version and
  // usage errors are printed by rank 0 only, and errors in the work end all ranks.
  const bool quiet = !cluster::is_root();
  // A file-size limit (ulimit -f) then makes a write fail with "File too large",
  // which is reported like a full disk, instead of killing hdiff without a word.
  std::signal(SIGXFSZ, SIG_IGN);
  const auto report = [&](int exit_code, const std::string& kind, const std::string& message) {
    if (cluster::size() > 1) cluster::abort_all(kind == "error" ? message : kind + ": " + message, exit_code);
    fmt::print(stderr, "hdiff: {}: {}\n", kind, message);
    return exit_code;
  };
  try {
    check_list_arguments(app, argc, argv);
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return quiet ? 0 : app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return quiet ? 0 : app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return quiet ? 0 : app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (!quiet) fmt::print(stderr, "hdiff: error: {} (see --help)\n", e.what());
    return 2;
  } catch (const cluster::SetupFailed& e) {
    if (!quiet) fmt::print(stderr, "hdiff: error: {}\n", e.what());
    return 2;
  } catch (const Error& e) {
    return report(2, "error", e.what());
  } catch (const std::filesystem::filesystem_error& e) {
    // A path the system refused to look up or change (a name too long, a loop of symbolic links, no permission).
    return report(2, "error", e.path1().empty() ? e.code().message()
                                                : fmt::format("cannot use {}: {}", e.path1().string(), e.code().message()));
  } catch (const std::bad_alloc&) {
    return report(2, "error", "out of memory; reduce the number of samples or the depth L");
  } catch (const std::exception& e) {
    return report(3, "internal error (please report)", e.what());
  }
  return 0;
}

}  // namespace hdiff::cli
