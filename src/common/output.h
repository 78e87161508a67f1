#pragma once
// All-or-nothing output that never takes what is not its own.
//
// Guarantees (docs/security.md, "Output folders"):
// - Files are written to a staging place and moved to their final names only
//   when the whole job has succeeded: a failed, killed or interrupted run never
//   leaves a partial file among the results.
// - Only regular files and folders are ever replaced: a device node, a FIFO, a
//   socket or a symbolic link where an output belongs is refused, before any work.
// - An output folder that holds anything is another run's: it is refused unless
//   the caller allows replacing (the CLI's --force), or it is the output of the
//   unfinished run being resumed (its journal `.NAME.unfinished` beside it).
// - One run per output: OutputDir holds the folder's RunLock from its
//   construction to its destruction.
// - Every check (path, lock, writability, what is there) runs in the
//   constructor, before the work; errors are one line naming the path and the fix.
// - Write errors name the system's reason ("No space left on device", "File
//   too large"), and the staged files are removed.

#include <filesystem>
#include <string>

#include "common/run_lock.h"

namespace hdiff {

// What may happen to earlier results at the output.
enum class Existing {
  refuse,   // an output that exists (a non-empty folder, a file) is refused: choose another, or allow replacing
  replace,  // files of the same names are replaced (--force); other files there are left alone
};

// The policy that the commands' --force selects.
inline Existing existing_policy(bool force) { return force ? Existing::replace : Existing::refuse; }

// Writes `content` to `path` through a temporary file in the same folder and a
// rename. A `path` that exists must be a regular file (or a symbolic link to
// one, which is kept: the file it leads to is replaced); with Existing::refuse
// it must not exist at all (checked atomically: a file that appears meanwhile
// is not replaced). Errors name the path and the reason.
void write_file_atomic(const std::filesystem::path& path, const std::string& content,
                       Existing existing = Existing::replace);

// Checks, before any work, that a file can be created at `path` under the
// `existing` policy: its folder exists and is writable, and whatever is at
// `path` is a regular file (and, with Existing::refuse, nothing is there).
void check_file_writable(const std::filesystem::path& path, Existing existing = Existing::replace);

// An output folder filled in one step.
class OutputDir {
 public:
  // Checks `dir` and locks it for `command` (see the guarantees above). The
  // constructor also removes what killed runs of `dir` left beside it.
  OutputDir(std::filesystem::path dir, Existing existing, const std::string& command = "hdiff");
  ~OutputDir();
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;

  // Where to write the file `name` now; it reaches `dir` at commit().
  std::filesystem::path staged(const std::string& name) const;
  // Writes `content` as staged file `name`.
  void write(const std::string& name, const std::string& content) const;
  // Moves every staged file and folder into `dir` (created if missing). Before
  // anything moves, every name is checked against what `dir` holds: a staged
  // file may replace only a regular file, a staged folder is merged into a folder.
  void commit();
  // The final folder.
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::filesystem::path staging_;
  RunLock lock_;
  bool committed_ = false;
};

}  // namespace hdiff
