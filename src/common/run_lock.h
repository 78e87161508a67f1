#pragma once
// One run per output: a lock that a run holds on its output folder or file
// while it works, so that a second run into the same output (a second
// terminal, a requeued cluster job while the old one still runs, another rank
// count) is refused at once instead of sharing its journal or its files.
//
// The lock is an open-file-description lock (fcntl F_OFD_SETLK, or a classic
// POSIX record lock where the kernel lacks it) on the file `.NAME.lock` beside
// the output NAME. Guarantees:
// - it dies with its process, however the process ends (SIGKILL included): no
//   stale lock ever blocks a later run;
// - it works across processes on one machine and, where the file system
//   supports locks (NFS with its lock manager, Lustre, GPFS), across machines;
// - two objects of one process conflict too (a Python session that starts two
//   runs into one folder);
// - the file is removed when the lock is released; a killed run leaves it,
//   and the next run into the same output takes it over.
// On a file system that refuses locks (ENOLCK) a warning is printed and the run
// goes on unprotected.

#include <filesystem>
#include <string>

namespace hdiff {

class RunLock {
 public:
  RunLock() = default;
  // Locks `target` for `command` (named in the message another run gets).
  // Errors (one line): another run holds it (naming its process, host,
  // command and start time), or the folder is not writable.
  RunLock(const std::filesystem::path& target, const std::string& command);
  RunLock(RunLock&& other) noexcept;
  RunLock& operator=(RunLock&& other) noexcept;
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  // Removes the lock file and releases the lock.
  ~RunLock();
  // True while a lock is held.
  bool held() const { return descriptor_ >= 0; }

 private:
  void release() noexcept;
  std::filesystem::path path_;
  int descriptor_ = -1;
};

}  // namespace hdiff
