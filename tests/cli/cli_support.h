#pragma once
// Running the hdiff binary from tests: exit code, stdout and stderr of one call.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "support/helpers.h"

namespace hdiff::testing {

// A small `hdiff phase` config, as TOML; the grammar fields and `values` are
// written as given, so they may be lists ("[2, 3]") or anything a test wants
// the parser to see.
struct PhaseToml {
  std::string v = "8", classes = "8", m = "2", s = "2", L = "[2, 3]";
  int seeds = 2;
  std::string channel = "uniform";
  std::string values = "[0.0, 0.3, 0.9]";
  int64_t samples = 300;
  int trajectories = 1;
  int seed = 3;

  std::string text() const {
    return fmt::format("[grammar]\nv = {}\nclasses = {}\nm = {}\ns = {}\nL = {}\nseeds = {}\n[noise]\nchannel = \"{}\"\n"
                       "values = {}\n[run]\nsamples = {}\ntrajectories = {}\nseed = {}\n",
                       v, classes, m, s, L, seeds, channel, values, samples, trajectories, seed);
  }
  // Writes the config to `path`.
  void write(const std::filesystem::path& path) const { std::ofstream(path) << text(); }
};

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
