#pragma once
// Test helpers for user errors and scratch folders.

#include <unistd.h>

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

// A new empty folder in the temporary directory, unique to this process and `name`.
inline std::filesystem::path fresh_folder(const std::string& name) {
  const auto folder = std::filesystem::temp_directory_path() / ("hdiff-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(folder);
  std::filesystem::create_directories(folder);
  return folder;
}

}  // namespace hdiff::testing
