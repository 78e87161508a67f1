// exec rather than a child process: hdiff-torch then owns the terminal,
// signals (Ctrl-C) and the exit code exactly as if it had been run directly.

#include "cli/torch_handoff.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace hdiff::cli {

bool is_torch_command(std::string_view name) {
  for (const auto& command : kTorchCommands)
    if (name == command.name) return true;
  return false;
}

int hand_over_to_torch(int argc, char** argv) {
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) {
    fmt::print(stderr, "hdiff: error: cannot find where hdiff runs from ({}); run {} directly\n", error.message(),
               kTorchExecutable);
    return 2;
  }
  const auto torch = self.parent_path() / kTorchExecutable;
  if (!std::filesystem::exists(torch)) {
    fmt::print(stderr,
               "hdiff: error: the LibTorch commands ({}) are not in this build ({} is missing); build with "
               "LibTorch (cmake -DHDIFF_WITH_TORCH=ON, the default)\n",
               argc >= 2 ? argv[1] : "", torch.string());
    return 2;
  }
  std::fflush(nullptr);
  ::execv(torch.c_str(), argv);
  fmt::print(stderr, "hdiff: error: cannot run {}: {}; check that it is executable\n", torch.string(),
             std::strerror(errno));
  return 2;
}

void add_torch_placeholders(CLI::App& app) {
  for (const auto& command : kTorchCommands)
    app.add_subcommand(command.name,
                       fmt::format("{} (runs {}, which links LibTorch)", command.description, kTorchExecutable))
        ->allow_extras();
}

}  // namespace hdiff::cli
