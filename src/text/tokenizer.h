#pragma once
// Tokens of text for the masked diffusion language model (docs/text.md,
// "Tokens"). Two units:
// - characters (the default): the text lowercased, over the 37-symbol alphabet
//   kCharacterAlphabet (space, a-z, . , ; : ? ! ' ( ) -), token = index in it.
//   The KJV text uses no other character; any other is an Error naming it.
// - words: lowercased words (maximal runs of letters and apostrophes) and each
//   punctuation mark as a token, spaces implied between tokens; the vocabulary
//   is "<unk>" (token 0) then the `cap` − 1 most frequent training words
//   (ties: alphabetical); rarer words become <unk>.
// Plain C++: no LibTorch.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hdiff::text {

inline constexpr std::string_view kCharacterAlphabet = " abcdefghijklmnopqrstuvwxyz.,;:?!'()-";
inline constexpr int kMaxWordVocabulary = 1 << 16;

enum class TokenUnit { characters, words };
// "characters" or "words"; anything else is an Error.
TokenUnit parse_token_unit(std::string_view name);
const char* token_unit_name(TokenUnit unit);

struct Tokenizer {
  TokenUnit unit = TokenUnit::characters;
  std::vector<std::string> words;                      // words: the vocabulary, words[0] = "<unk>"
  std::unordered_map<std::string, uint32_t> word_ids;  // words: its inverse
  // The number of token values v (37 for characters; the cap for words, even
  // when fewer words exist, so that v follows from the config alone).
  int vocabulary = 0;
};

Tokenizer character_tokenizer();
// The word vocabulary of `texts` capped at `cap` (in [2, kMaxWordVocabulary]).
Tokenizer word_tokenizer(std::span<const std::string> texts, int cap);

// The tokens of `text`.
std::vector<uint32_t> encode(const Tokenizer& tokenizer, std::string_view text);
// Text of tokens: characters joined, words joined by spaces; `mask` (if any
// token equals it) is written '_' for characters and "[_]" for words.
std::string decode(const Tokenizer& tokenizer, std::span<const uint32_t> tokens, uint32_t mask = UINT32_MAX);

}  // namespace hdiff::text
