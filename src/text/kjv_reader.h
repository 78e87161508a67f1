#pragma once
// The King James Bible of Debian's `bible-kjv-text` package (/usr/lib/bible.data),
// stored in the `bible` program's own "EC02" compressed data file (docs/text.md,
// "The corpus"). Layout, all integers big-endian 32-bit:
//
//   bytes 0-3    "EC02" (magic "EC", file version "02")
//   bytes 4-83   a description, NUL-padded ("Compressed Data File")
//   bytes 84-87  window size W: every window but the last decodes to W bytes
//   bytes 88-91  number of windows K
//   bytes 92-…   K + 1 offsets: window k's code stream is bytes [o_k, o_{k+1})
//   then         compress(1)'s 3-byte header 1f 9d (0x80 | max bits), and the
//                K code streams (text/lzw.h)
//
// The K windows concatenated are plain ASCII text: a title line, then one line
// per verse, "<book abbreviation><chapter>:<verse> <text>" (e.g. "Ge1:1 In the
// beginning ..."), the 66 books in canonical order.
//
// Guarantees (hostile input, docs/security.md): the file is opened through
// InputFile and capped at 64 MiB before it is read; W ≤ 16 MiB, K ≤ 4096 and
// the decoded text ≤ 64 MiB are checked before any allocation; every offset is
// checked (increasing, inside the file, the first just after the header, each
// window no longer than W compressed); each window must decode to exactly W
// bytes (the last to 1..W); the text must be printable ASCII lines and every
// verse line must name the next book of the canon (or the same book), with
// chapter and verse numbers in [1, 999]. Every refusal is one Error naming the
// file and the problem.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hdiff::text {

inline constexpr const char* kKjvDataPath = "/usr/lib/bible.data";
inline constexpr uint64_t kMaxKjvFileBytes = uint64_t{1} << 26;   // 64 MiB (the real file: 1.7 MB)
inline constexpr uint64_t kMaxKjvTextBytes = uint64_t{1} << 26;   // 64 MiB decoded (the real text: 4.4 MB)
inline constexpr uint32_t kMaxKjvWindowBytes = uint32_t{1} << 24; // 16 MiB (the real W: 64 KiB)
inline constexpr uint32_t kMaxKjvWindows = 4096;                  // (the real K: 68)
inline constexpr int kKjvBooks = 66;
inline constexpr int kKjvVerses = 31102;  // in the real file

// The books in canonical order: the file's abbreviation and the usual name.
struct KjvBook {
  const char* abbreviation;
  const char* name;
};
std::span<const KjvBook> kjv_books();

struct KjvVerse {
  int book = 0;      // 0..65, index into kjv_books()
  int chapter = 0;   // from 1
  int verse = 0;     // from 1
  std::string text;  // without the reference and its space
};

struct KjvBible {
  std::string title;             // the first line
  std::vector<KjvVerse> verses;  // in file order
};

// The decoded text of an EC02 file's bytes (`what` names it in errors); W·K
// above `max_text` bytes is refused before anything is decoded.
std::string decode_ec02(std::string_view file_bytes, const std::string& what, uint64_t max_text = kMaxKjvTextBytes);
// The verses of that text.
KjvBible parse_kjv_text(std::string_view text, const std::string& what);
// Both, on the file at `path`.
KjvBible read_kjv_bible(const std::filesystem::path& path);

}  // namespace hdiff::text
