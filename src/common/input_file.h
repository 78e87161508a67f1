#pragma once
// Files a user names as inputs (grammars, configs, token arrays, results to
// compare, journals, images, checkpoints), opened so that no input can hang a
// run or grow its memory without bound.
//
// Guarantees: the file is opened without blocking (O_NONBLOCK, so a FIFO with
// no writer does not wait) and checked through the opened descriptor (fstat:
// what is checked is what is read, whatever happens to the path meanwhile).
// Anything but a regular file (a FIFO, a device such as /dev/zero or
// /dev/urandom, a socket, a folder) is refused before one byte is read, as is
// a file larger than the caller's cap. A symbolic link to a regular file is
// read as that file. Every refusal is one FileError line naming the file.

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>

namespace hdiff {

// Caps by what each format can hold; a larger file is not one hdiff wrote.
inline constexpr uint64_t kMaxConfigBytes = uint64_t{1} << 24;       // 16 MiB: configs are a few kB
inline constexpr uint64_t kMaxGrammarBytes = uint64_t{1} << 32;      // 4 GiB of JSON rules
inline constexpr uint64_t kMaxResultsCsvBytes = uint64_t{1} << 32;   // 4 GiB of results.csv rows
inline constexpr uint64_t kMaxArrayFileBytes = uint64_t{1} << 40;    // 1 TiB: .npy arrays, checkpoints, images

// A regular file open for reading; closed when destroyed.
class InputFile {
 public:
  // Opens `path`. `what` names the input in errors ("grammar", "config", or
  // empty): "cannot read WHAT PATH: why". Refuses a missing or unreadable file,
  // a folder and every file that is not regular.
  static InputFile open(const std::filesystem::path& path, const std::string& what);
  InputFile(InputFile&& other) noexcept;
  InputFile& operator=(InputFile&& other) noexcept;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile();

  // The size when opened.
  uint64_t size() const { return size_; }
  // `length` bytes from `offset`, or fewer at the end of the file.
  std::string read_at(uint64_t offset, uint64_t length) const;
  // The whole file; refused when it holds more than `max_bytes` (checked
  // before reading, and again while reading, for a file that grows).
  std::string read_all(uint64_t max_bytes) const;
  // The raw descriptor (for libraries that read it themselves).
  int descriptor() const { return descriptor_; }

 private:
  InputFile(std::string label, int descriptor, uint64_t size)
      : label_(std::move(label)), descriptor_(descriptor), size_(size) {}
  std::string label_;
  int descriptor_ = -1;
  uint64_t size_ = 0;
};

// The whole content of the regular file `path`, at most `max_bytes`.
std::string read_input_file(const std::filesystem::path& path, const std::string& what, uint64_t max_bytes);

// Checks that `path` is a regular, readable file (for readers that open it
// themselves, such as libzip); same errors as InputFile::open.
void check_regular_input(const std::filesystem::path& path, const std::string& what);

}  // namespace hdiff
