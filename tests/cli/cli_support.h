#pragma once
// Running the hdiff binary from tests: exit code, stdout and stderr of one call.

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "support/helpers.h"

namespace hdiff::testing {

// What one command printed and returned.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `prefix HDIFF_BINARY arguments` through the shell in `folder` (prefix: a launcher such as mpirun, or empty).
inline CommandResult run_hdiff_with_prefix(const std::string& prefix, const std::string& arguments,
                                           const std::filesystem::path& folder) {
  const auto out = folder / ".stdout", err = folder / ".stderr";
  const std::string command = "cd '" + folder.string() + "' && " + prefix + "'" + HDIFF_BINARY + "' " + arguments +
                              " > '" + out.string() + "' 2> '" + err.string() + "' < /dev/null";
  const int status = std::system(command.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = read_text(out);
  result.err = read_text(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return result;
}

// Runs `HDIFF_BINARY arguments` through the shell in `folder`.
inline CommandResult run_hdiff(const std::string& arguments, const std::filesystem::path& folder) {
  return run_hdiff_with_prefix("", arguments, folder);
}

// Names in `folder`, hidden files included, except the test's own captures.
inline int entries_in(const std::filesystem::path& folder) {
  int count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(folder)) ++count;
  return count;
}

}  // namespace hdiff::testing
