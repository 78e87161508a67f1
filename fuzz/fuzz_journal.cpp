// Fuzz target: the journal of a resumable run (scan_journal, then every
// payload it reports through read_journal_payload), for a fixed run identity
// and unit count that the seeds carry. A journal that scans is then resumed as
// a run would: cut to its valid length by JournalWriter::reopen, one unit
// appended, and scanned again; it must come back with the same records plus
// the new one and no torn tail. A scan error must be one line.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cluster/journal.h"
#include "common/error.h"
#include "fuzz_support.h"

namespace {

// fuzz/make_seeds.py writes its journals for this identity and unit count.
const std::string kIdentity = R"({"command":"fuzz","seed":1})";
constexpr int64_t kUnits = 8;

bool same_entries(const std::vector<hdiff::JournalEntry>& a, const std::vector<hdiff::JournalEntry>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].unit != b[i].unit || a[i].offset != b[i].offset || a[i].length != b[i].length) return false;
  return true;
}

// The resume round trip. Any failure here, an hdiff::Error included, is a
// broken promise of scan_journal and a crash for libFuzzer.
void resume(const std::filesystem::path& path, const hdiff::JournalScan& scan) {
  std::vector<bool> done(kUnits, false);
  for (const auto& entry : scan.entries) done[static_cast<size_t>(entry.unit)] = true;
  int64_t fresh = 0;
  while (fresh < kUnits && done[static_cast<size_t>(fresh)]) ++fresh;
  std::vector<hdiff::JournalEntry> expected = scan.entries;
  {
    auto writer = hdiff::JournalWriter::reopen(path, scan.valid_length);
    if (fresh < kUnits) {
      writer.append(fresh, "resumed");
      expected.push_back({fresh, scan.valid_length + 16, 7});  // after the record's unit and length
    }
  }
  const hdiff::JournalScan again = hdiff::scan_journal(path, kIdentity, kUnits, "FOLDER");
  if (again.torn_tail || !same_entries(again.entries, expected) ||
      (fresh < kUnits && hdiff::read_journal_payload(path, again.entries.back()) != "resumed")) {
    std::fprintf(stderr, "a resumed journal did not scan back to its records plus the appended one\n");
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = hdiff::fuzz::scratch_file(data, size, ".journal");
  hdiff::JournalScan scan;
  try {
    scan = hdiff::scan_journal(path, kIdentity, kUnits, "FOLDER");
    for (const auto& entry : scan.entries)
      if (hdiff::read_journal_payload(path, entry).size() != entry.length) std::abort();
  } catch (const hdiff::Error& e) {
    hdiff::fuzz::report(e);
    if (std::strchr(e.what(), '\n') != nullptr) {
      std::fprintf(stderr, "an error of more than one line: %s\n", e.what());
      std::abort();
    }
    return 0;
  }
  resume(path, scan);
  return 0;
}
