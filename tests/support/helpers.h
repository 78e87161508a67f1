#pragma once
// Test helpers for user errors, scratch folders and runs of the hdiff binary.

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>

#include <filesystem>
#include <functional>
#include <string>

#include "common/error.h"

namespace hdiff::testing {

// The message of the hdiff::Error that `action` throws, or "(no error)".
inline std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Whether gnuplot runs here. It is one of hdiff's dependencies
// (scripts/install-deps.sh), so where it is missing a test that checks figures
// fails, naming the fix, instead of skipping its checks.
inline bool gnuplot_installed() {
  const bool found = std::system("command -v gnuplot > /dev/null 2>&1") == 0;
  if (!found) ADD_FAILURE() << "gnuplot is not installed, so the figures cannot be checked; run scripts/install-deps.sh";
  return found;
}

// A new empty folder in the temporary directory, unique to this process and `name`.
inline std::filesystem::path fresh_folder(const std::string& name) {
  const auto folder = std::filesystem::temp_directory_path() / ("hdiff-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(folder);
  std::filesystem::create_directories(folder);
  return folder;
}

// Exit code and merged stdout and stderr of one run of build/hdiff.
struct RunResult {
  int code = -1;
  std::string output;
};

// Runs `HDIFF_BINARY arguments` through the shell, stderr merged into stdout.
inline RunResult run_hdiff_merged(const std::string& arguments) {
  const std::string command = std::string(HDIFF_BINARY) + " " + arguments + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  RunResult result;
  if (!pipe) return result;
  std::array<char, 4096> buffer{};
  while (const size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace hdiff::testing
