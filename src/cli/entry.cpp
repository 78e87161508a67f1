// Error reporting shared by hdiff and hdiff-images: the same messages and exit
// codes whichever executable runs the command.

#include "cli/entry.h"

#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <new>

#include "common/error.h"
#include "common/version.h"

namespace hdiff::cli {

void configure_app(CLI::App& app) {
  app.set_version_flag("--version", fmt::format("hdiff {} ({})", version(), git_commit()));
  app.require_subcommand(1);
}

int run_app(CLI::App& app, int argc, const char* const* argv) {
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
  } catch (const Error& e) {
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

}  // namespace hdiff::cli
