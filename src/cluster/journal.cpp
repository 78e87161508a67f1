#include "cluster/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <utility>

#include "common/crc32.h"
#include "common/error.h"
#include "common/input_file.h"
#include "common/output.h"

namespace hdiff {
namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'H', 'D', 'I', 'F', 'F', 'J', 'N', 'L'};
constexpr uint32_t kFormatVersion = 1;
constexpr uint64_t kMaxIdentity = uint64_t{1} << 24;  // 16 MiB: configs are a few kB
constexpr uint64_t kRecordHead = 16, kRecordTail = 4;

template <typename T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

template <typename T>
T get(const char* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

uint32_t crc_of(const std::string& bytes, uint32_t crc = 0) {
  return crc32({reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()}, crc);
}

}  // namespace

std::string journal_header(const std::string& identity) {
  std::string header(kMagic, sizeof kMagic);
  put<uint32_t>(header, kFormatVersion);
  put<uint64_t>(header, identity.size());
  header += identity;
  put<uint32_t>(header, crc_of(identity));
  return header;
}

JournalScan scan_journal(const fs::path& path, const std::string& identity, int64_t units, const std::string& folder_hint) {
  // A FIFO or device at the journal's path is refused before anything is read.
  const InputFile in = [&] {
    try {
      return InputFile::open(path, "the journal");
    } catch (const FileError& e) {
      fail_file("{}; check it, or delete {} to start over", e.what(), folder_hint);
    }
  }();
  const uint64_t size = in.size();
  const auto damaged = [&](uint64_t at, const std::string& what) {
    fail("the journal {} is damaged at byte {} ({}); delete {} to start over", path.string(), at, what, folder_hint);
  };
  const std::string head = in.read_at(0, sizeof kMagic + 12);
  if (head.size() < sizeof kMagic + 12 || std::memcmp(head.data(), kMagic, sizeof kMagic) != 0)
    damaged(0, "not an hdiff journal");
  if (get<uint32_t>(head.data() + 8) != kFormatVersion)
    fail("the journal {} has format version {}, this hdiff writes {}; finish it with the hdiff that made it, or delete {} "
         "to start over", path.string(), get<uint32_t>(head.data() + 8), kFormatVersion, folder_hint);
  const uint64_t identity_length = get<uint64_t>(head.data() + 12);
  if (identity_length > kMaxIdentity || identity_length + 24 > size) damaged(12, "impossible header length");
  const std::string stored = in.read_at(20, identity_length + 4);
  if (stored.size() != identity_length + 4) damaged(20, "header cut short");
  const std::string stored_identity = stored.substr(0, identity_length);
  if (get<uint32_t>(stored.data() + identity_length) != crc_of(stored_identity)) damaged(20, "header checksum");
  if (stored_identity != identity)
    fail("the journal {} belongs to another run (a different config, seed, command or hdiff build); rerun the command "
         "that made it with --resume, or delete {} to start over", path.string(), folder_hint);

  JournalScan scan;
  uint64_t at = 24 + identity_length;
  std::set<int64_t> seen;
  while (at < size) {
    if (size - at < kRecordHead + kRecordTail) {
      scan.torn_tail = true;
      break;
    }
    const std::string record_head = in.read_at(at, kRecordHead);
    if (record_head.size() != kRecordHead) fail_file("the journal {} changed while it was read", path.string());
    const auto unit = get<int64_t>(record_head.data());
    const auto length = get<uint64_t>(record_head.data() + 8);
    if (length > size - at - kRecordHead - kRecordTail) {
      // Either the record being written at the crash (cut short) or garbage:
      // a valid start (known unit, not seen) is taken for the former.
      if (unit < 0 || unit >= units || seen.count(unit)) damaged(at, "record header");
      scan.torn_tail = true;
      break;
    }
    if (unit < 0 || unit >= units) damaged(at, fmt::format("unit {} out of range [0, {})", unit, units));
    if (!seen.insert(unit).second) damaged(at, fmt::format("unit {} recorded twice", unit));
    // The checksum is computed piecewise so that a large payload is read once.
    uint32_t crc = crc_of(record_head);
    uint64_t done = 0;
    while (done < length) {
      const uint64_t piece = std::min<uint64_t>(length - done, uint64_t{1} << 24);
      crc = crc_of(in.read_at(at + kRecordHead + done, piece), crc);
      done += piece;
    }
    const std::string tail = in.read_at(at + kRecordHead + length, kRecordTail);
    if (tail.size() != kRecordTail || get<uint32_t>(tail.data()) != crc) {
      // The last record may have reached the disk only in part (power loss).
      if (at + kRecordHead + length + kRecordTail == size) {
        scan.torn_tail = true;
        break;
      }
      damaged(at, fmt::format("checksum of unit {}", unit));
    }
    scan.entries.push_back({unit, at + kRecordHead, length});
    at += kRecordHead + length + kRecordTail;
  }
  scan.valid_length = at;
  return scan;
}

std::string read_journal_payload(const fs::path& path, const JournalEntry& entry) {
  const InputFile in = InputFile::open(path, "the journal");
  std::string payload = in.read_at(entry.offset, entry.length);
  if (payload.size() != entry.length) fail_file("the journal {} changed while it was read", path.string());
  return payload;
}

JournalWriter JournalWriter::create(const fs::path& path, const std::string& identity) {
  write_file_atomic(path, journal_header(identity));
  return reopen(path, journal_header(identity).size());
}

JournalWriter JournalWriter::reopen(const fs::path& path, uint64_t valid_length) {
  const int descriptor = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (descriptor < 0) fail_file("cannot write the journal {}: {}", path.string(), std::strerror(errno));
  if (::ftruncate(descriptor, static_cast<off_t>(valid_length)) != 0 ||
      ::lseek(descriptor, static_cast<off_t>(valid_length), SEEK_SET) < 0) {
    ::close(descriptor);
    fail_file("cannot write the journal {}: {}", path.string(), std::strerror(errno));
  }
  return JournalWriter(path, descriptor);
}

JournalWriter::JournalWriter(JournalWriter&& other) noexcept
    : path_(std::move(other.path_)), descriptor_(std::exchange(other.descriptor_, -1)) {}

JournalWriter& JournalWriter::operator=(JournalWriter&& other) noexcept {
  if (this != &other) {
    if (descriptor_ >= 0) ::close(descriptor_);
    path_ = std::move(other.path_);
    descriptor_ = std::exchange(other.descriptor_, -1);
  }
  return *this;
}

JournalWriter::~JournalWriter() {
  if (descriptor_ >= 0) ::close(descriptor_);
}

void JournalWriter::append(int64_t unit, const std::string& payload) {
  std::string record;
  record.reserve(payload.size() + kRecordHead + kRecordTail);
  put<int64_t>(record, unit);
  put<uint64_t>(record, payload.size());
  record += payload;
  put<uint32_t>(record, crc_of(record));
  size_t written = 0;
  while (written < record.size()) {
    const ssize_t n = ::write(descriptor_, record.data() + written, record.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail_file("cannot write the journal {}: {}", path_.string(), n < 0 ? std::strerror(errno) : "nothing written");
    written += static_cast<size_t>(n);
  }
}

void JournalWriter::sync() {
  if (::fdatasync(descriptor_) != 0) fail_file("cannot write the journal {}: {}", path_.string(), std::strerror(errno));
}

}  // namespace hdiff
