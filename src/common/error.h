#pragma once
// User-facing errors: bad input, impossible parameters, unwritable output.
// The CLI prints what() on one line and exits with code 2.

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace hdiff {

// An error the user can fix; its message names the problem and the fix.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

// An Error about a file that cannot be read or written; front ends may report it
// differently (the Python module raises OSError, other Errors are ValueError).
struct FileError : Error {
  using Error::Error;
};

// Throws FileError with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail_file(fmt::format_string<Args...> format, Args&&... args) {
  throw FileError(fmt::format(format, std::forward<Args>(args)...));
}

// Internal invariant check that names the file and line where it failed; a
// failure is a bug in hdiff, not bad input.
#define HDIFF_CHECK(condition)                                                 \
  do {                                                                         \
    if (!(condition))                                                          \
      throw std::logic_error(::fmt::format("internal check failed at {}:{}: {}", \
                                           __FILE__, __LINE__, #condition));   \
  } while (false)

}  // namespace hdiff
