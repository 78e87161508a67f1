// The reader of the `bible` program's EC02 data file (kjv_reader.h). Written
// from the file's layout as read in the package's sources and checked on the
// installed file, not copied.

#include "text/kjv_reader.h"

#include <algorithm>
#include <array>

#include "common/error.h"
#include "common/input_file.h"
#include "text/lzw.h"

namespace hdiff::text {
namespace {

constexpr std::array<KjvBook, kKjvBooks> kBooks = {{
    {"Ge", "Genesis"}, {"Exo", "Exodus"}, {"Lev", "Leviticus"}, {"Num", "Numbers"}, {"Deu", "Deuteronomy"},
    {"Josh", "Joshua"}, {"Jdgs", "Judges"}, {"Ruth", "Ruth"}, {"1Sm", "1 Samuel"}, {"2Sm", "2 Samuel"},
    {"1Ki", "1 Kings"}, {"2Ki", "2 Kings"}, {"1Chr", "1 Chronicles"}, {"2Chr", "2 Chronicles"}, {"Ezra", "Ezra"},
    {"Neh", "Nehemiah"}, {"Est", "Esther"}, {"Job", "Job"}, {"Psa", "Psalms"}, {"Prv", "Proverbs"},
    {"Eccl", "Ecclesiastes"}, {"SSol", "Song of Solomon"}, {"Isa", "Isaiah"}, {"Jer", "Jeremiah"},
    {"Lam", "Lamentations"}, {"Eze", "Ezekiel"}, {"Dan", "Daniel"}, {"Hos", "Hosea"}, {"Joel", "Joel"},
    {"Amos", "Amos"}, {"Obad", "Obadiah"}, {"Jonah", "Jonah"}, {"Mic", "Micah"}, {"Nahum", "Nahum"},
    {"Hab", "Habakkuk"}, {"Zep", "Zephaniah"}, {"Hag", "Haggai"}, {"Zec", "Zechariah"}, {"Mal", "Malachi"},
    {"Mat", "Matthew"}, {"Mark", "Mark"}, {"Luke", "Luke"}, {"John", "John"}, {"Acts", "Acts"}, {"Rom", "Romans"},
    {"1Cor", "1 Corinthians"}, {"2Cor", "2 Corinthians"}, {"Gal", "Galatians"}, {"Eph", "Ephesians"},
    {"Phi", "Philippians"}, {"Col", "Colossians"}, {"1Th", "1 Thessalonians"}, {"2Th", "2 Thessalonians"},
    {"1Tim", "1 Timothy"}, {"2Tim", "2 Timothy"}, {"Titus", "Titus"}, {"Phmn", "Philemon"}, {"Heb", "Hebrews"},
    {"Jas", "James"}, {"1Pet", "1 Peter"}, {"2Pet", "2 Peter"}, {"1Jn", "1 John"}, {"2Jn", "2 John"},
    {"3Jn", "3 John"}, {"Jude", "Jude"}, {"Rev", "Revelation"},
}};

constexpr size_t kHeaderBytes = 92;  // magic, version, description, W, K

uint32_t big_endian(std::string_view bytes, size_t at) {
  return (uint32_t{static_cast<uint8_t>(bytes[at])} << 24) | (uint32_t{static_cast<uint8_t>(bytes[at + 1])} << 16) |
         (uint32_t{static_cast<uint8_t>(bytes[at + 2])} << 8) | uint32_t{static_cast<uint8_t>(bytes[at + 3])};
}

// A number of 1 to 3 digits at `at`, in [1, 999]; advances `at`.
int small_number(std::string_view line, size_t& at, const std::string& where) {
  int value = 0, digits = 0;
  while (at < line.size() && line[at] >= '0' && line[at] <= '9' && digits < 4) {
    value = value * 10 + (line[at] - '0');
    ++at;
    ++digits;
  }
  if (digits == 0 || digits > 3 || value < 1) fail("{}: a chapter or verse number must lie in [1, 999]", where);
  return value;
}

}  // namespace

std::span<const KjvBook> kjv_books() { return kBooks; }

std::string decode_ec02(std::string_view bytes, const std::string& what, uint64_t max_text) {
  if (bytes.size() < kHeaderBytes) fail("{}: {} bytes is too short for an EC02 header", what, bytes.size());
  if (bytes.substr(0, 4) != "EC02")
    fail("{}: not a `bible` EC02 compressed data file (it starts with no \"EC02\")", what);
  const uint32_t window = big_endian(bytes, 84);
  const uint32_t windows = big_endian(bytes, 88);
  if (window < 1 || window > kMaxKjvWindowBytes)
    fail("{}: window size {} is outside [1, {}]", what, window, kMaxKjvWindowBytes);
  if (windows < 1 || windows > kMaxKjvWindows) fail("{}: {} windows is outside [1, {}]", what, windows, kMaxKjvWindows);
  if (uint64_t{window} * windows > std::min(max_text, kMaxKjvTextBytes))
    fail("{}: {} windows of {} bytes exceed the {} bytes a text may hold", what, windows, window,
         std::min(max_text, kMaxKjvTextBytes));
  const uint64_t table_end = kHeaderBytes + 4 * (uint64_t{windows} + 1);
  if (table_end + 3 > bytes.size())
    fail("{}: the file ends inside its table of {} window offsets", what, windows + 1);
  const auto* header = reinterpret_cast<const uint8_t*>(bytes.data()) + table_end;
  if (header[0] != 0x1f || header[1] != 0x9d)
    fail("{}: no compress(1) header (1f 9d) after the window table", what);
  if ((header[2] & 0x80) == 0) fail("{}: the code streams are not in block mode (flags 0x{:02x})", what, header[2]);
  const int max_bits = header[2] & 0x1f;
  std::vector<uint64_t> offsets(windows + 1);
  for (uint32_t k = 0; k <= windows; ++k) {
    offsets[k] = big_endian(bytes, kHeaderBytes + 4 * size_t{k});
    if (k == 0 && offsets[0] != table_end + 3)
      fail("{}: window 0 starts at byte {}, not just after the header at {}", what, offsets[0], table_end + 3);
    if (k > 0 && offsets[k] < offsets[k - 1])
      fail("{}: window {} ends at byte {}, before it starts at {}", what, k - 1, offsets[k], offsets[k - 1]);
    if (offsets[k] > bytes.size())
      fail("{}: window offset {} points past the end of the file ({} bytes)", what, offsets[k], bytes.size());
    if (k > 0 && offsets[k] - offsets[k - 1] > window)
      fail("{}: window {} holds {} compressed bytes, more than the window size {}", what, k - 1,
           offsets[k] - offsets[k - 1], window);
  }
  std::string text;
  text.reserve(uint64_t{window} * windows);
  for (uint32_t k = 0; k < windows; ++k) {
    const std::span<const uint8_t> codes(reinterpret_cast<const uint8_t*>(bytes.data()) + offsets[k],
                                         offsets[k + 1] - offsets[k]);
    const std::string part = lzw_decompress(codes, max_bits, window, what + ": window " + std::to_string(k));
    if (part.size() != window && (k + 1 < windows || part.empty()))
      fail("{}: window {} decodes to {} bytes, not {}", what, k, part.size(), window);
    text += part;
  }
  return text;
}

KjvBible parse_kjv_text(std::string_view text, const std::string& what) {
  KjvBible bible;
  size_t at = 0;
  int64_t line_number = 0;
  int book = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(at, end - at);
    at = end + 1;
    ++line_number;
    const std::string where = what + ": line " + std::to_string(line_number);
    for (char c : line)
      if (c < 0x20 || c > 0x7e) fail("{}: byte 0x{:02x} is not printable ASCII", where, static_cast<uint8_t>(c));
    if (line_number == 1) {
      bible.title = std::string(line);
      continue;
    }
    // The abbreviation: an optional leading digit, then letters.
    size_t pos = line.empty() || line[0] < '1' || line[0] > '3' ? 0 : 1;
    while (pos < line.size() && ((line[pos] >= 'A' && line[pos] <= 'Z') || (line[pos] >= 'a' && line[pos] <= 'z')))
      ++pos;
    const std::string_view abbreviation = line.substr(0, pos);
    while (book < kKjvBooks && abbreviation != kBooks[static_cast<size_t>(book)].abbreviation) ++book;
    if (book == kKjvBooks)
      fail("{}: '{}' is not the current or a later book of the canon", where,
           std::string(abbreviation.substr(0, 16)));
    KjvVerse verse;
    verse.book = book;
    verse.chapter = small_number(line, pos, where);
    if (pos >= line.size() || line[pos] != ':') fail("{}: no ':' between chapter and verse", where);
    ++pos;
    verse.verse = small_number(line, pos, where);
    if (pos >= line.size() || line[pos] != ' ') fail("{}: no space after the verse reference", where);
    verse.text = std::string(line.substr(pos + 1));
    bible.verses.push_back(std::move(verse));
  }
  if (bible.verses.empty()) fail("{}: no verse", what);
  return bible;
}

KjvBible read_kjv_bible(const std::filesystem::path& path) {
  const std::string bytes = read_input_file(path, "Bible data file", kMaxKjvFileBytes);
  return parse_kjv_text(decode_ec02(bytes, path.string()), path.string());
}

}  // namespace hdiff::text
