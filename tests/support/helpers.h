#pragma once
// Test helpers for user errors, scratch folders, reading files and running
// binaries: the one place tests do these (every test uses these, no copies).

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
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

// The whole content of `path`, byte for byte. A file that cannot be opened
// fails the test (and gives ""), so a missing output is never read as empty.
inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return {};
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// What one run of a binary printed and returned.
struct CommandResult {
  int exit_code = -1;  // the exit status; when signal N ended the binary, 128 + N (from the shell) or -1
  std::string out;     // stdout (with stderr when RunOptions::merge_output)
  std::string err;     // stderr
};

// How run_binary starts a binary.
struct RunOptions {
  std::filesystem::path folder;  // working directory; empty: the test's own
  std::string prefix;            // shell words before the binary: a launcher such as mpiexec, or empty
  bool merge_output = false;     // stderr into `out`, interleaved as a terminal shows them; `err` stays empty
};

// Runs `prefix 'binary' arguments` through the shell (`arguments` are shell
// words, quoted by the caller), stdin from /dev/null, capturing stdout and
// stderr in files of the temporary directory (never in `folder`, whose
// entries tests count).
inline CommandResult run_binary(const std::filesystem::path& binary, const std::string& arguments,
                                const RunOptions& options = {}) {
  const auto capture = [](const char* stream) {
    std::string name = (std::filesystem::temp_directory_path() / ("hdiff-test-" + std::string(stream) + "-XXXXXX")).string();
    const int fd = ::mkstemp(name.data());
    if (fd < 0) ADD_FAILURE() << "cannot create a capture file " << name;
    else ::close(fd);
    return std::filesystem::path(name);
  };
  const auto out = capture("stdout"), err = capture("stderr");
  std::string command;
  if (!options.folder.empty()) command += "cd '" + options.folder.string() + "' && ";
  command += options.prefix + "'" + binary.string() + "' " + arguments + " > '" + out.string() + "' " +
             (options.merge_output ? std::string("2>&1") : "2> '" + err.string() + "'") + " < /dev/null";
  const int status = std::system(command.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = read_text(out);
  result.err = read_text(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return result;
}

// run_binary on build/hdiff (HDIFF_BINARY) in `folder` (empty: the test's own).
inline CommandResult run_hdiff(const std::string& arguments, const std::filesystem::path& folder = {},
                               RunOptions options = {}) {
  options.folder = folder;
  return run_binary(HDIFF_BINARY, arguments, options);
}

}  // namespace hdiff::testing
