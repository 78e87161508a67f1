#include "common/output.h"

#include <unistd.h>

#include <fstream>
#include <system_error>

#include "common/error.h"

namespace hdiff {
namespace fs = std::filesystem;

namespace {

fs::path unique_sibling(const fs::path& path, const std::string& tag) {
  static int counter = 0;
  return path.parent_path() / fmt::format(".{}.{}-{}-{}", path.filename().string(), tag, getpid(), counter++);
}

fs::path parent_or_dot(const fs::path& path) {
  return path.parent_path().empty() ? fs::path(".") : path.parent_path();
}

// What is at `path` (not_found where nothing is), without fs's exceptions: a
// path the system cannot even look up (a name too long, a loop of symbolic
// links) is a FileError that names it.
fs::file_status status_of(const fs::path& path) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (error == std::errc::not_a_directory) fail_file("cannot use {}: a part of it is a file, not a folder", path.string());
  if (error && status.type() != fs::file_type::not_found)
    fail_file("cannot use {}: {}", path.string(), error.message());
  return status;
}

}  // namespace

void write_file_atomic(const fs::path& path, const std::string& content) {
  if (fs::is_directory(status_of(path))) fail_file("cannot write {}: it is a folder; give a file name", path.string());
  const fs::path temp = unique_sibling(path.parent_path().empty() ? fs::path(".") / path : path, "tmp");
  {
    std::ofstream out(temp, std::ios::binary);
    if (!out) fail_file("cannot write {}: folder {} is missing or not writable", path.string(), parent_or_dot(path).string());
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) {
      std::error_code ignored;
      fs::remove(temp, ignored);
      fail_file("cannot write {}: write failed (disk full?)", path.string());
    }
  }
  std::error_code error;
  fs::rename(temp, path, error);
  if (error) {
    fs::remove(temp, error);
    fail_file("cannot write {}: {}", path.string(), error.message());
  }
}

void check_file_writable(const fs::path& path) {
  if (fs::is_directory(status_of(path))) fail_file("cannot write {}: it is a folder; give a file name", path.string());
  const fs::path folder = parent_or_dot(path);
  // (A parent that is a file was refused above: looking up `path` through it fails.)
  if (!fs::is_directory(status_of(folder))) fail_file("cannot write {}: folder {} does not exist; create it first", path.string(), folder.string());
  if (access(folder.c_str(), W_OK) != 0) fail_file("cannot write {}: folder {} is not writable", path.string(), folder.string());
}

OutputDir::OutputDir(fs::path dir) : dir_(std::move(dir)) {
  if (dir_.empty()) fail("no output folder given; pass --out DIR");
  if (dir_.filename().empty()) dir_ = dir_.parent_path();  // "out/" -> "out"
  const fs::file_status existing = status_of(dir_);
  if (fs::exists(existing) && !fs::is_directory(existing)) fail("cannot write to {}: it exists and is not a folder", dir_.string());
  const fs::path parent = parent_or_dot(dir_);
  if (!fs::is_directory(status_of(parent))) fail("cannot write to {}: folder {} does not exist; create it first", dir_.string(), parent.string());
  staging_ = unique_sibling(parent / dir_.filename(), "staging");
  // Writability is proven now by making the staging folder, which is removed
  // again at once: a run killed during its long work leaves nothing behind.
  // staged() makes it again when the results are written.
  std::error_code error;
  if (!fs::create_directory(staging_, error) || error)
    fail("cannot write to {}: folder {} is not writable", dir_.string(), parent.string());
  fs::remove(staging_, error);
  if (fs::exists(existing) && access(dir_.c_str(), W_OK) != 0) fail("cannot write to {}: it is not writable", dir_.string());
}

OutputDir::~OutputDir() {
  std::error_code ignored;
  if (!staging_.empty()) fs::remove_all(staging_, ignored);
}

fs::path OutputDir::staged(const std::string& name) const {
  std::error_code error;
  if (!fs::is_directory(staging_, error) && (!fs::create_directory(staging_, error) || error))
    fail("cannot write to {}: cannot create {} ({})", dir_.string(), staging_.string(), error.message());
  return staging_ / name;
}

void OutputDir::write(const std::string& name, const std::string& content) const {
  std::ofstream out(staged(name), std::ios::binary);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.flush();
  if (!out) fail("cannot write {}: write failed (disk full?)", (dir_ / name).string());
}

void OutputDir::commit() {
  if (committed_) return;
  std::error_code error;
  (void)staged("");  // a job that wrote nothing still leaves its (empty) folder
  if (!fs::exists(status_of(dir_))) {
    fs::rename(staging_, dir_, error);
    if (error) fail("cannot create {}: {}", dir_.string(), error.message());
    staging_.clear();
  } else {
    std::error_code listing;
    for (fs::directory_iterator entry(staging_, listing), end; !listing && entry != end; entry.increment(listing)) {
      fs::rename(entry->path(), dir_ / entry->path().filename(), error);
      if (error) fail("cannot move {} into {}: {}", entry->path().filename().string(), dir_.string(), error.message());
    }
    if (listing) fail("cannot move the results into {}: {}", dir_.string(), listing.message());
  }
  committed_ = true;
}

}  // namespace hdiff
