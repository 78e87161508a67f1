#pragma once
// What the CLI tests share: a small phase config (running the binary and
// reading files: support/helpers.h).

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
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

// Names in `folder`, hidden files included.
inline int entries_in(const std::filesystem::path& folder) {
  int count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(folder)) ++count;
  return count;
}

// Runs `hdiff arguments` in `folder` and expects a clean refusal: exit 2, exactly
// one stderr line "hdiff: error: ..." holding every one of `needles`, nothing on
// stdout, and nothing new in the folder.
inline void expect_refused(const std::filesystem::path& folder, const std::string& arguments,
                           std::initializer_list<std::string> needles, const RunOptions& options = {}) {
  const int before = entries_in(folder);
  const auto result = run_hdiff(arguments, folder, options);
  EXPECT_EQ(result.exit_code, 2) << arguments << "\n" << result.err;
  for (const auto& needle : needles)
    EXPECT_NE(result.err.find(needle), std::string::npos) << arguments << ": " << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << arguments << ": " << result.err;
  EXPECT_EQ(result.err.rfind("hdiff: error: ", 0), 0u) << result.err;
  EXPECT_EQ(result.out, "") << arguments;
  EXPECT_EQ(entries_in(folder), before) << arguments << " left output behind";
}

}  // namespace hdiff::testing
