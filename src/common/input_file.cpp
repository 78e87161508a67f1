#include "common/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "common/error.h"

namespace hdiff {

namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::string size_text(uint64_t bytes) {
  if (bytes >= (uint64_t{1} << 30)) return fmt::format("{} GiB", bytes >> 30);
  if (bytes >= (uint64_t{1} << 20)) return fmt::format("{} MiB", bytes >> 20);
  return fmt::format("{} bytes", bytes);
}

}  // namespace

InputFile InputFile::open(const std::filesystem::path& path, const std::string& what) {
  const std::string label = what.empty() ? path.string() : what + " " + path.string();
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  const int descriptor = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (descriptor < 0) {
    if (errno == ENOENT || errno == EACCES || errno == ENOTDIR || errno == ELOOP)
      fail_file("cannot read {}: no such file or not readable", label);
    fail_file("cannot read {}: {}", label, std::strerror(errno));
  }
  struct stat info {};
  if (::fstat(descriptor, &info) != 0) {
    const int error = errno;
    ::close(descriptor);
    fail_file("cannot read {}: {}", label, std::strerror(error));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(descriptor);
    fail_file("cannot read {}: it is {}, not a regular file; give a file", label, kind_of(info.st_mode));
  }
  return InputFile(label, descriptor, static_cast<uint64_t>(info.st_size));
}

InputFile::InputFile(InputFile&& other) noexcept
    : label_(std::move(other.label_)), descriptor_(std::exchange(other.descriptor_, -1)), size_(other.size_) {}

InputFile& InputFile::operator=(InputFile&& other) noexcept {
  if (this != &other) {
    if (descriptor_ >= 0) ::close(descriptor_);
    label_ = std::move(other.label_);
    descriptor_ = std::exchange(other.descriptor_, -1);
    size_ = other.size_;
  }
  return *this;
}

InputFile::~InputFile() {
  if (descriptor_ >= 0) ::close(descriptor_);
}

std::string InputFile::read_at(uint64_t offset, uint64_t length) const {
  std::string bytes(length, '\0');
  uint64_t done = 0;
  while (done < length) {
    const ssize_t n = ::pread(descriptor_, bytes.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_file("cannot read {}: {}", label_, std::strerror(errno));
    if (n == 0) break;
    done += static_cast<uint64_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

std::string InputFile::read_all(uint64_t max_bytes) const {
  const auto too_large = [&] {
    fail_file("cannot read {}: it holds more than {}, more than this input can hold; give the file hdiff wrote",
              label_, size_text(max_bytes));
  };
  if (size_ > max_bytes) too_large();
  // Read to the end, not to the size fstat gave: a file may grow meanwhile, and
  // some regular files (/proc) report size 0. One byte past the cap stops it.
  std::string content = read_at(0, size_);
  while (content.size() <= max_bytes) {
    const std::string more = read_at(content.size(), std::min<uint64_t>(max_bytes + 1 - content.size(), 1 << 20));
    if (more.empty()) break;
    content += more;
  }
  if (content.size() > max_bytes) too_large();
  return content;
}

std::string read_input_file(const std::filesystem::path& path, const std::string& what, uint64_t max_bytes) {
  return InputFile::open(path, what).read_all(max_bytes);
}

void check_regular_input(const std::filesystem::path& path, const std::string& what) { InputFile::open(path, what); }

}  // namespace hdiff
