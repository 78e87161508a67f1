// The EC02 reader on the installed KJV (bible-kjv-text) and on hostile files.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"
#include "text/kjv_reader.h"
#include "text/lzw.h"

namespace hdiff::text {
namespace {

bool have_kjv() { return std::filesystem::exists(kKjvDataPath); }

void put32(std::string& bytes, size_t at, uint32_t value) {
  for (int k = 0; k < 4; ++k) bytes[at + static_cast<size_t>(k)] = static_cast<char>((value >> (24 - 8 * k)) & 0xff);
}

// The message of the Error `f` throws ("" when none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// An LZW code stream of literal bytes only, packed at 9 bits in groups of 9
// bytes (8 codes) as compress writes them; enough for a few bytes of text.
std::vector<uint8_t> literal_codes(const std::string& text) {
  std::vector<uint8_t> out;
  uint64_t bits = 0;
  for (char c : text) {
    const uint32_t code = static_cast<uint8_t>(c);
    for (int b = 0; b < 9; ++b, ++bits) {
      if (bits / 8 >= out.size()) out.push_back(0);
      out[bits / 8] |= static_cast<uint8_t>(((code >> b) & 1u) << (bits % 8));
    }
  }
  return out;
}

// A whole EC02 file of one window holding `text` (as literals).
std::string tiny_ec02(const std::string& text) {
  std::string bytes(92 + 8, '\0');
  bytes.replace(0, 4, "EC02");
  put32(bytes, 84, static_cast<uint32_t>(2 * text.size()));  // the last window may decode to less than W
  put32(bytes, 88, 1);
  bytes += std::string("\x1f\x9d\x90", 3);
  const auto codes = literal_codes(text);
  put32(bytes, 92, 103);
  put32(bytes, 96, static_cast<uint32_t>(103 + codes.size()));
  bytes.append(codes.begin(), codes.end());
  return bytes;
}

TEST(KjvReader, RealFileHasEveryVerseFromGenesisToRevelation) {
  if (!have_kjv()) GTEST_SKIP() << "bible-kjv-text is not installed (scripts/install-deps.sh)";
  const KjvBible bible = read_kjv_bible(kKjvDataPath);
  ASSERT_EQ(bible.verses.size(), static_cast<size_t>(kKjvVerses));
  EXPECT_EQ(bible.verses.front().book, 0);
  EXPECT_EQ(bible.verses.front().chapter, 1);
  EXPECT_EQ(bible.verses.front().verse, 1);
  EXPECT_EQ(bible.verses.front().text, "In the beginning God created the heaven and the earth.");
  EXPECT_EQ(bible.verses.back().book, kKjvBooks - 1);
  EXPECT_EQ(bible.verses.back().chapter, 22);
  EXPECT_EQ(bible.verses.back().verse, 21);
  EXPECT_EQ(bible.verses.back().text, "The grace of our Lord Jesus Christ be with you all. Amen.");
  std::vector<int> per_book(kKjvBooks, 0);
  for (const auto& v : bible.verses) ++per_book[static_cast<size_t>(v.book)];
  for (int count : per_book) EXPECT_GT(count, 0);
  EXPECT_EQ(per_book[18], 2461);  // Psalms
}

TEST(KjvReader, TinyHandMadeFileDecodes) {
  const std::string text = "Title\nGe1:1 In the beginning.\nRev22:21 Amen.";
  const KjvBible bible = parse_kjv_text(decode_ec02(tiny_ec02(text), "tiny"), "tiny");
  ASSERT_EQ(bible.verses.size(), 2u);
  EXPECT_EQ(bible.title, "Title");
  EXPECT_EQ(bible.verses[1].book, 65);
  EXPECT_EQ(bible.verses[1].text, "Amen.");
}

TEST(KjvReader, HostileFilesAreOneErrorEach) {
  const std::string good = tiny_ec02("Title\nGe1:1 In the beginning.");
  ASSERT_NO_THROW(parse_kjv_text(decode_ec02(good, "x"), "x"));
  struct Case {
    const char* name;
    std::string bytes;
    const char* expected;
  };
  std::vector<Case> cases;
  cases.push_back({"truncated header", good.substr(0, 50), "too short"});
  cases.push_back({"truncated table", good.substr(0, 96), "ends inside its table"});
  std::string magic = good;
  magic[1] = 'X';
  cases.push_back({"bad magic", magic, "not a `bible` EC02"});
  std::string huge_window = good;
  put32(huge_window, 84, 0xffffffffu);
  cases.push_back({"huge window", huge_window, "window size"});
  std::string many = good;
  put32(many, 88, 0x7fffffffu);
  cases.push_back({"huge window count", many, "windows is outside"});
  std::string product = good;
  put32(product, 84, 1u << 24);
  put32(product, 88, 4096);
  cases.push_back({"huge text", product, "exceed"});
  std::string past = good;
  put32(past, 96, 1u << 30);
  cases.push_back({"offset past the end", past, "past the end"});
  std::string backwards = good;
  put32(backwards, 96, 50);
  cases.push_back({"offset backwards", backwards, "before it starts"});
  std::string first = good;
  put32(first, 92, 104);
  cases.push_back({"first offset", first, "not just after the header"});
  cases.push_back({"truncated data", good.substr(0, good.size() - 3), "past the end"});
  std::string bits = good;
  bits[102] = static_cast<char>(0x80 | 20);
  cases.push_back({"code width", bits, "code width"});
  std::string shorter = tiny_ec02("Title\nGe1:1 In.");
  put32(shorter, 84, 10);          // more compressed bytes than the window size
  cases.push_back({"compressed window larger than the window", shorter, "more than the window size"});
  for (const auto& c : cases) {
    const std::string message = error_of([&] { parse_kjv_text(decode_ec02(c.bytes, "hostile"), "hostile"); });
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.name << ": " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << c.name;
  }
}

TEST(KjvReader, BadTextLinesAreRefused) {
  EXPECT_NE(error_of([] { parse_kjv_text("T\nXyz1:1 a", "t"); }).find("is not the current or a later book"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_kjv_text("T\nExo1:1 a\nGe1:1 b", "t"); }).find("later book"), std::string::npos);
  EXPECT_NE(error_of([] { parse_kjv_text("T\nGe1 a", "t"); }).find("no ':'"), std::string::npos);
  EXPECT_NE(error_of([] { parse_kjv_text("T\nGe1:12345 a", "t"); }).find("[1, 999]"), std::string::npos);
  EXPECT_NE(error_of([] { parse_kjv_text(std::string("T\nGe1:1 a\x01", 11), "t"); }).find("printable"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_kjv_text("T", "t"); }).find("no verse"), std::string::npos);
}

TEST(Lzw, ForgedStreamsAreRefusedAndOutputIsCapped) {
  const auto codes = literal_codes("abcdefgh");
  EXPECT_EQ(lzw_decompress(codes, 16, 100, "x"), "abcdefgh");
  EXPECT_NE(error_of([&] { lzw_decompress(codes, 16, 4, "x"); }).find("more than 4 bytes"), std::string::npos);
  // A first code that is no literal: 0x1ff.
  const std::vector<uint8_t> first = {0xff, 0x01};
  EXPECT_NE(error_of([&] { lzw_decompress(first, 16, 100, "x"); }).find("not a literal"), std::string::npos);
  // 'a', then code 300, beyond the next free entry 257.
  std::vector<uint8_t> past(3, 0);
  const uint32_t a = 'a', bad = 300;
  const uint32_t packed = a | (bad << 9);
  past[0] = packed & 0xff;
  past[1] = (packed >> 8) & 0xff;
  past[2] = (packed >> 16) & 0xff;
  EXPECT_NE(error_of([&] { lzw_decompress(past, 16, 100, "x"); }).find("refers past"), std::string::npos);
  EXPECT_NE(error_of([&] { lzw_decompress(codes, 8, 100, "x"); }).find("code width"), std::string::npos);
}

}  // namespace
}  // namespace hdiff::text
