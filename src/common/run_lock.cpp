#include "common/run_lock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <utility>

#include "common/error.h"
#include "common/output_names.h"

namespace hdiff {
namespace fs = std::filesystem;

namespace {

// Locks the whole file without waiting: 0, or the errno of the failure.
int try_lock(int descriptor) {
  struct flock whole {};
  whole.l_type = F_WRLCK;
  whole.l_whence = SEEK_SET;
#ifdef F_OFD_SETLK
  if (fcntl(descriptor, F_OFD_SETLK, &whole) == 0) return 0;
  if (errno != EINVAL) return errno;
#endif
  return fcntl(descriptor, F_SETLK, &whole) == 0 ? 0 : errno;
}

// What the holder wrote into the lock file: "pid 12 on host, hdiff phase, since 2026-…".
std::string holder_of(int descriptor) {
  char text[512] = {};
  const ssize_t got = pread(descriptor, text, sizeof text - 1, 0);
  std::string holder(text, got > 0 ? static_cast<size_t>(got) : 0);
  while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
  for (char& c : holder)
    if (c == '\n' || static_cast<unsigned char>(c) < 0x20) c = ' ';
  return holder.empty() ? "a process that has not written its name yet" : holder;
}

std::string this_run(const std::string& command) {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "unknown host");
  const std::time_t now = std::time(nullptr);
  char when[32] = {};
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return fmt::format("pid {} on {}, {}, since {}\n", getpid(), host, command, when);
}

}  // namespace

RunLock::RunLock(const fs::path& target, const std::string& command) {
  const fs::path plain = without_trailing_separator(target);
  const fs::path path = hidden_sibling(plain, "lock");
  // The previous holder removes the file as it lets go; a process that opened the
  // old file just before then locks a file no longer in the folder, so it checks
  // that the name still leads to the file it locked, and starts again if not.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int descriptor = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
    if (descriptor < 0) {
      const int why = errno;
      if (why == EACCES || why == EPERM || why == EROFS)
        fail_file("cannot write to {}: folder {} is not writable ({})", plain.string(),
                  plain.has_parent_path() ? plain.parent_path().string() : ".", std::strerror(why));
      fail_file("cannot write to {}: cannot create the lock file {} ({})", plain.string(), path.string(),
                std::strerror(why));
    }
    struct stat opened {};
    if (fstat(descriptor, &opened) != 0 || !S_ISREG(opened.st_mode)) {
      close(descriptor);
      fail_file("cannot write to {}: {} is not a regular file; remove it", plain.string(), path.string());
    }
    const int why = try_lock(descriptor);
    if (why == EACCES || why == EAGAIN) {
      const std::string holder = holder_of(descriptor);
      close(descriptor);
      fail_file("{} is in use by another run ({}); wait for it to end, or give another --out", plain.string(), holder);
    }
    if (why == ENOLCK) {
      fmt::print(stderr, "hdiff: warning: the file system of {} cannot lock files; make sure no other run uses it\n",
                 plain.string());
    } else if (why != 0) {
      close(descriptor);
      fail_file("cannot lock {}: {}", path.string(), std::strerror(why));
    }
    struct stat named {};
    if (stat(path.c_str(), &named) != 0 || named.st_ino != opened.st_ino || named.st_dev != opened.st_dev) {
      close(descriptor);
      continue;
    }
    const std::string record = this_run(command);
    if (ftruncate(descriptor, 0) != 0 ||
        pwrite(descriptor, record.data(), record.size(), 0) != static_cast<ssize_t>(record.size())) {
      const int write_error = errno;
      unlink(path.c_str());
      close(descriptor);
      fail_file("cannot write to {}: cannot write the lock file {} ({})", plain.string(), path.string(),
                std::strerror(write_error));
    }
    path_ = path;
    descriptor_ = descriptor;
    return;
  }
  fail_file("cannot lock {}: it keeps being replaced; is another program removing it?", path.string());
}

RunLock::RunLock(RunLock&& other) noexcept
    : path_(std::exchange(other.path_, {})), descriptor_(std::exchange(other.descriptor_, -1)) {}

RunLock& RunLock::operator=(RunLock&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::exchange(other.path_, {});
    descriptor_ = std::exchange(other.descriptor_, -1);
  }
  return *this;
}

RunLock::~RunLock() { release(); }

void RunLock::release() noexcept {
  if (descriptor_ < 0) return;
  // Removed while still locked, so that no other run can lock this file and then
  // find it gone; closing releases the lock.
  unlink(path_.c_str());
  close(descriptor_);
  descriptor_ = -1;
}

}  // namespace hdiff
