#pragma once
// Shared by the fuzz targets: a scratch file for readers that take a path, and
// the one rule of every target: hdiff::Error is the expected answer to bad
// input; any other exception escapes and libFuzzer reports it as a crash.

#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"

namespace hdiff::fuzz {

// With HDIFF_FUZZ_VERBOSE set (e.g. to check that the seeds are accepted),
// prints the error a rejected input got.
inline void report(const Error& error) {
  static const bool verbose = std::getenv("HDIFF_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "rejected: %s\n", error.what());
}

// Writes the input to a file private to this process (same name every call)
// and returns its path.
// The file is removed when the process ends normally.
inline std::filesystem::path scratch_file(const uint8_t* data, size_t size, const char* extension) {
  struct Scratch {
    std::filesystem::path path;
    ~Scratch() {
      std::error_code ignored;
      std::filesystem::remove(path, ignored);
    }
  };
  static const Scratch scratch{std::filesystem::temp_directory_path() /
                               ("hdiff-fuzz-" + std::to_string(::getpid()) + extension)};
  std::ofstream out(scratch.path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return scratch.path;
}

}  // namespace hdiff::fuzz
