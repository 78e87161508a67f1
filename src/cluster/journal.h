#pragma once
// The journal of a resumable run: the results of the units completed so far,
// appended one record at a time by rank 0 (and forced to disk now and then), so that a run
// killed at any point (SIGKILL, power loss, a lost node) continues where it
// stopped. The journal names the run it belongs to (its identity: command,
// resolved config, seeds, hdiff version and commit) and is refused for any
// other run.
//
// File (little-endian): "HDIFFJNL", u32 format version, u64 identity length,
// the identity, u32 CRC-32 of the identity; then records: u64 unit, u64 payload
// length, the payload, u32 CRC-32 of unit, length and payload. The last record,
// when cut short or failing its checksum, is the one being written when the
// run died and is dropped; any other damage makes the whole journal refused.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hdiff {

// Where one complete record's payload lies in the file.
struct JournalEntry {
  int64_t unit = 0;
  uint64_t offset = 0;  // of the payload
  uint64_t length = 0;
};

// What a valid journal holds.
struct JournalScan {
  std::vector<JournalEntry> entries;  // in file order
  uint64_t valid_length = 0;          // bytes up to the end of the last complete record
  bool torn_tail = false;             // an incomplete last record was found (and will be dropped)
};

// Reads and checks the journal at `path` against the run's `identity` and
// number of units. Errors (one line, naming the file and the fix): unreadable,
// damaged, or belonging to another run. `folder_hint` is what to delete to start over.
JournalScan scan_journal(const std::filesystem::path& path, const std::string& identity, int64_t units,
                         const std::string& folder_hint);

// The payload of one entry.
std::string read_journal_payload(const std::filesystem::path& path, const JournalEntry& entry);

// Appends records to a journal; the records appended so far are on disk when sync() returns.
class JournalWriter {
 public:
  // Creates a journal with no records at `path` (atomically: a crash leaves no half header).
  static JournalWriter create(const std::filesystem::path& path, const std::string& identity);
  // Continues the journal at `path`, cutting it to `valid_length` (a torn last record goes).
  static JournalWriter reopen(const std::filesystem::path& path, uint64_t valid_length);
  JournalWriter(JournalWriter&& other) noexcept;
  JournalWriter& operator=(JournalWriter&& other) noexcept;
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;
  ~JournalWriter();
  // Appends the result of `unit` (written, not yet forced to disk).
  void append(int64_t unit, const std::string& payload);
  // Forces every appended record to disk: one sync for a group of records, so
  // that rank 0 keeps up with many ranks on a slow shared file system.
  void sync();

 private:
  JournalWriter(std::filesystem::path path, int descriptor) : path_(std::move(path)), descriptor_(descriptor) {}
  std::filesystem::path path_;
  int descriptor_ = -1;
};

// The bytes of a journal header for `identity` (also used by tests to forge journals).
std::string journal_header(const std::string& identity);

}  // namespace hdiff
