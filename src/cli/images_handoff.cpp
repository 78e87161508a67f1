// exec rather than a child process: hdiff-images then owns the terminal,
// signals (Ctrl-C) and the exit code exactly as if it had been run directly.

#include "cli/images_handoff.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace hdiff::cli {

int hand_over_to_images(int argc, char** argv) {
  (void)argc;
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) {
    fmt::print(stderr, "hdiff: error: cannot find where hdiff runs from ({}); run {} directly\n", error.message(),
               kImagesExecutable);
    return 2;
  }
  const auto images = self.parent_path() / kImagesExecutable;
  if (!std::filesystem::exists(images)) {
    fmt::print(stderr,
               "hdiff: error: the image commands are not in this build ({} is missing); build with LibTorch "
               "(cmake -DHDIFF_WITH_TORCH=ON, the default)\n",
               images.string());
    return 2;
  }
  std::fflush(nullptr);
  ::execv(images.c_str(), argv);
  fmt::print(stderr, "hdiff: error: cannot run {}: {}; check that it is executable\n", images.string(),
             std::strerror(errno));
  return 2;
}

void add_images_placeholder(CLI::App& app) {
  app.add_subcommand("images",
                     "Image diffusion: ADM forward-backward and the classifier probe (see `hdiff images --help`; "
                     "runs hdiff-images, which links LibTorch)")
      ->allow_extras();
}

}  // namespace hdiff::cli
