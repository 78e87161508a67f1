#include "common/output.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include "common/error.h"
#include "common/output_names.h"

namespace hdiff {
namespace fs = std::filesystem;

namespace {

fs::path parent_or_dot(const fs::path& path) {
  return path.parent_path().empty() ? fs::path(".") : path.parent_path();
}

// What is at `path` (following symbolic links, or not), not_found where nothing
// is, without fs's exceptions: a path the system cannot even look up (a name
// too long, a loop of symbolic links) is a FileError that names it.
fs::file_status look_up(const fs::path& path, bool follow) {
  std::error_code error;
  const fs::file_status status = follow ? fs::status(path, error) : fs::symlink_status(path, error);
  if (error == std::errc::not_a_directory) fail_file("cannot use {}: a part of it is a file, not a folder", path.string());
  if (error && status.type() != fs::file_type::not_found)
    fail_file("cannot use {}: {}", path.string(), error.message());
  return status;
}

// "a FIFO", "a device node", ...: what a thing that is not a regular file or folder is.
const char* kind_of(fs::file_type type) {
  switch (type) {
    case fs::file_type::directory: return "a folder";
    case fs::file_type::symlink: return "a symbolic link";
    case fs::file_type::block:
    case fs::file_type::character: return "a device node";
    case fs::file_type::fifo: return "a FIFO (named pipe)";
    case fs::file_type::socket: return "a socket";
    default: return "not a regular file";
  }
}

// The file a path names, symbolic links followed; a link into nowhere is refused.
fs::path resolve_file(const fs::path& path) {
  if (!fs::is_symlink(look_up(path, false))) return path;
  if (!fs::exists(look_up(path, true)))
    fail_file("cannot write {}: it is a symbolic link to {}, which does not exist; give another name", path.string(),
              fs::read_symlink(path).string());
  return fs::canonical(path);
}

// The file-level checks of write_file_atomic and check_file_writable.
void check_file_target(const fs::path& shown, const fs::path& real, Existing existing) {
  const fs::file_status status = look_up(real, false);
  if (status.type() == fs::file_type::not_found) return;
  if (fs::is_directory(status)) fail_file("cannot write {}: it is a folder; give a file name", shown.string());
  if (!fs::is_regular_file(status))
    fail_file("cannot write {}: it is {}, and only regular files are replaced; give another name", shown.string(),
              kind_of(status.type()));
  if (existing == Existing::refuse)
    fail_file("{} already exists (another run's result?); give another name, or add --force to replace it",
              shown.string());
}

// Writes `content` into a new file at `path`; on failure the file is removed and
// the error names `shown` and the system's reason (disk full, file too large).
void write_new_file(const fs::path& path, const fs::path& shown, const std::string& content) {
  const int descriptor = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
  if (descriptor < 0) {
    const int why = errno;
    fail_file("cannot write {}: {}{}", shown.string(), std::strerror(why),
              why == EACCES || why == EROFS ? fmt::format(" (folder {})", parent_or_dot(shown).string()) : "");
  }
  const char* data = content.data();
  size_t left = content.size();
  int why = 0;
  while (left > 0) {
    const ssize_t wrote = ::write(descriptor, data, left);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) {
      why = wrote < 0 ? errno : ENOSPC;
      break;
    }
    data += wrote;
    left -= static_cast<size_t>(wrote);
  }
  if (close(descriptor) != 0 && why == 0) why = errno;  // network file systems report late
  if (why != 0) {
    unlink(path.c_str());
    fail_file("cannot write {}: {}", shown.string(), std::strerror(why));
  }
}

// rename() that never replaces: false when `to` exists.
bool rename_no_replace(const fs::path& from, const fs::path& to) {
  if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
  if (errno == EEXIST) return false;
  if (errno != EINVAL && errno != ENOSYS)
    fail_file("cannot move {} to {}: {}", from.string(), to.string(), std::strerror(errno));
  // A file system without RENAME_NOREPLACE: a hard link fails on an existing name.
  if (!fs::is_directory(from)) {
    if (link(from.c_str(), to.c_str()) != 0) {
      if (errno == EEXIST) return false;
      fail_file("cannot move {} to {}: {}", from.string(), to.string(), std::strerror(errno));
    }
    unlink(from.c_str());
    return true;
  }
  if (fs::exists(look_up(to, false))) return false;
  std::error_code error;
  fs::rename(from, to, error);
  if (error) fail_file("cannot move {} to {}: {}", from.string(), to.string(), error.message());
  return true;
}

// Every conflict between what is staged and what `into` holds, before anything moves.
void check_merge(const fs::path& staged, const fs::path& into) {
  for (const auto& entry : fs::directory_iterator(staged)) {
    const fs::path target = into / entry.path().filename();
    const fs::file_status there = look_up(target, false);
    if (there.type() == fs::file_type::not_found) continue;
    if (entry.is_directory()) {
      if (!fs::is_directory(there))
        fail_file("cannot write {}: it is {}, where the results need a folder; remove it or give another --out",
                  target.string(), kind_of(there.type()));
      check_merge(entry.path(), target);
    } else if (!fs::is_regular_file(there)) {
      fail_file("cannot write {}: it is {}, and only regular files are replaced; remove it or give another --out",
                target.string(), kind_of(there.type()));
    }
  }
}

void merge(const fs::path& staged, const fs::path& into) {
  for (const auto& entry : fs::directory_iterator(staged)) {
    const fs::path target = into / entry.path().filename();
    if (entry.is_directory() && fs::is_directory(look_up(target, false))) {
      merge(entry.path(), target);
      continue;
    }
    std::error_code error;
    fs::rename(entry.path(), target, error);
    if (error) fail_file("cannot move {} into {}: {}", entry.path().filename().string(), into.string(), error.message());
  }
}

}  // namespace

void write_file_atomic(const fs::path& path, const std::string& content, Existing existing) {
  const fs::path real = resolve_file(path);
  check_file_target(path, real, existing);
  const fs::path temp = unique_hidden_sibling(real, "tmp");
  write_new_file(temp, path, content);
  if (existing == Existing::refuse) {
    if (rename_no_replace(temp, real)) return;
    unlink(temp.c_str());
    fail_file("{} already exists (another run's result?); give another name, or add --force to replace it",
              path.string());
  }
  std::error_code error;
  fs::rename(temp, real, error);
  if (error) {
    unlink(temp.c_str());
    fail_file("cannot write {}: {}", path.string(), error.message());
  }
}

void check_file_writable(const fs::path& path, Existing existing) {
  const fs::path real = resolve_file(path);
  check_file_target(path, real, existing);
  const fs::path folder = parent_or_dot(real);
  // (A parent that is a file was refused above: looking up `path` through it fails.)
  if (!fs::is_directory(look_up(folder, true)))
    fail_file("cannot write {}: folder {} does not exist; create it first", path.string(), folder.string());
  if (access(folder.c_str(), W_OK) != 0)
    fail_file("cannot write {}: folder {} is not writable ({})", path.string(), folder.string(), std::strerror(errno));
}

OutputDir::OutputDir(fs::path dir, Existing existing, const std::string& command)
    : dir_(without_trailing_separator(dir)) {
  if (dir_.empty()) fail("no output folder given; pass --out DIR");
  const fs::file_status link = look_up(dir_, false);
  const fs::file_status target = look_up(dir_, true);
  if (fs::is_symlink(link) && !fs::exists(target))
    fail_file("cannot write to {}: it is a symbolic link to {}, which does not exist; create that folder or give "
              "another --out", dir_.string(), fs::read_symlink(dir_).string());
  if (fs::exists(target) && !fs::is_directory(target))
    fail_file("cannot write to {}: it is {}, not a folder; give another --out", dir_.string(),
              fs::is_regular_file(target) ? "a file" : kind_of(target.type()));
  const fs::path parent = parent_or_dot(dir_);
  if (!fs::is_directory(look_up(parent, true)))
    fail_file("cannot write to {}: folder {} does not exist; create it first", dir_.string(), parent.string());
  lock_ = RunLock(dir_, command);
  remove_stale_siblings(dir_);
  if (fs::exists(target)) {
    std::error_code error;
    const bool empty = fs::is_empty(dir_, error);
    if (error) fail_file("cannot read {}: {}", dir_.string(), error.message());
    if (!empty && existing == Existing::refuse && !fs::exists(look_up(hidden_sibling(dir_, "unfinished"), false)))
      fail_file("{} already holds the results of another run; give another --out, or add --force to replace them",
                dir_.string());
    if (access(dir_.c_str(), W_OK) != 0)
      fail_file("cannot write to {}: it is not writable ({})", dir_.string(), std::strerror(errno));
  }
  staging_ = unique_hidden_sibling(dir_, "staging");
  // Writability is proven now by making the staging folder, which is removed
  // again at once: a run killed during its long work leaves nothing behind.
  // staged() makes it again when the results are written.
  if (mkdir(staging_.c_str(), 0777) != 0)
    fail_file("cannot write to {}: cannot create a folder in {} ({})", dir_.string(), parent.string(),
              std::strerror(errno));
  rmdir(staging_.c_str());
}

OutputDir::~OutputDir() {
  std::error_code ignored;
  if (!staging_.empty()) fs::remove_all(staging_, ignored);
}

fs::path OutputDir::staged(const std::string& name) const {
  if (mkdir(staging_.c_str(), 0777) != 0 && errno != EEXIST)
    fail_file("cannot write to {}: cannot create {} ({})", dir_.string(), staging_.string(), std::strerror(errno));
  return staging_ / name;
}

void OutputDir::write(const std::string& name, const std::string& content) const {
  write_new_file(staged(name), dir_ / name, content);
}

void OutputDir::commit() {
  if (committed_) return;
  (void)staged("");  // a job that wrote nothing still leaves its (empty) folder
  if (!fs::exists(look_up(dir_, true))) {
    if (!rename_no_replace(staging_, dir_))
      fail_file("cannot create {}: something else created it during the run; the results are kept in {}",
                dir_.string(), staging_.string());
    staging_.clear();
  } else {
    check_merge(staging_, dir_);
    merge(staging_, dir_);
  }
  committed_ = true;
}

}  // namespace hdiff
