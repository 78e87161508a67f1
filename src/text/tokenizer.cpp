// Character and word tokens (tokenizer.h).

#include "text/tokenizer.h"

#include <algorithm>
#include <map>

#include "common/error.h"

namespace hdiff::text {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool word_char(char c) { return (c >= 'a' && c <= 'z') || c == '\''; }

// The lowercased word and punctuation tokens of `text`, as strings.
std::vector<std::string> word_pieces(std::string_view text) {
  std::vector<std::string> pieces;
  std::string word;
  for (char raw : text) {
    const char c = lower(raw);
    if (word_char(c)) {
      word.push_back(c);
      continue;
    }
    if (!word.empty()) pieces.push_back(std::move(word));
    word.clear();
    if (c == ' ') continue;
    if (kCharacterAlphabet.find(c) == std::string_view::npos)
      fail("text: character 0x{:02x} is outside the alphabet of docs/text.md", static_cast<uint8_t>(c));
    pieces.emplace_back(1, c);
  }
  if (!word.empty()) pieces.push_back(std::move(word));
  return pieces;
}

}  // namespace

TokenUnit parse_token_unit(std::string_view name) {
  if (name == "characters") return TokenUnit::characters;
  if (name == "words") return TokenUnit::words;
  fail("token unit '{}' is neither \"characters\" nor \"words\"", name);
}

const char* token_unit_name(TokenUnit unit) { return unit == TokenUnit::characters ? "characters" : "words"; }

Tokenizer character_tokenizer() {
  Tokenizer t;
  t.vocabulary = static_cast<int>(kCharacterAlphabet.size());
  return t;
}

Tokenizer word_tokenizer(std::span<const std::string> texts, int cap) {
  if (cap < 2 || cap > kMaxWordVocabulary) fail("a word vocabulary of {} must lie in [2, {}]", cap, kMaxWordVocabulary);
  std::map<std::string, int64_t> counts;
  for (const auto& text : texts)
    for (auto& piece : word_pieces(text)) ++counts[piece];
  std::vector<std::pair<std::string, int64_t>> ranked(counts.begin(), counts.end());
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  Tokenizer t;
  t.unit = TokenUnit::words;
  t.vocabulary = cap;
  t.words.push_back("<unk>");
  for (const auto& [word, count] : ranked) {
    if (static_cast<int>(t.words.size()) >= cap) break;
    t.words.push_back(word);
  }
  for (size_t i = 0; i < t.words.size(); ++i) t.word_ids.emplace(t.words[i], static_cast<uint32_t>(i));
  return t;
}

std::vector<uint32_t> encode(const Tokenizer& tokenizer, std::string_view text) {
  std::vector<uint32_t> tokens;
  if (tokenizer.unit == TokenUnit::characters) {
    tokens.reserve(text.size());
    for (char raw : text) {
      const size_t at = kCharacterAlphabet.find(lower(raw));
      if (at == std::string_view::npos)
        fail("text: character 0x{:02x} is outside the alphabet of docs/text.md", static_cast<uint8_t>(raw));
      tokens.push_back(static_cast<uint32_t>(at));
    }
    return tokens;
  }
  for (const auto& piece : word_pieces(text)) {
    const auto found = tokenizer.word_ids.find(piece);
    tokens.push_back(found == tokenizer.word_ids.end() ? 0 : found->second);
  }
  return tokens;
}

std::string decode(const Tokenizer& tokenizer, std::span<const uint32_t> tokens, uint32_t mask) {
  std::string text;
  for (uint32_t token : tokens) {
    if (tokenizer.unit == TokenUnit::characters) {
      text.push_back(token == mask ? '_' : token < kCharacterAlphabet.size() ? kCharacterAlphabet[token] : '?');
      continue;
    }
    if (!text.empty()) text.push_back(' ');
    text += token == mask ? std::string("[_]") : token < tokenizer.words.size() ? tokenizer.words[token] : "<unk>";
  }
  return text;
}

}  // namespace hdiff::text
