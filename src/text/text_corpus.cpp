// The KJV split by book into fixed-length token sequences (text_corpus.h).

#include "text/text_corpus.h"

#include <algorithm>

#include "common/error.h"

namespace hdiff::text {

bool is_validation_book(int book) {
  return std::find(kValidationBooks.begin(), kValidationBooks.end(), book) != kValidationBooks.end();
}

std::string split_text(const KjvBible& bible, bool validation) {
  std::string text;
  for (const auto& verse : bible.verses) {
    if (is_validation_book(verse.book) != validation) continue;
    if (!text.empty()) text.push_back(' ');
    text += verse.text;
  }
  return text;
}

TextCorpus make_text_corpus(const KjvBible& bible, TokenUnit unit, int vocabulary, int64_t length) {
  if (length < 2) fail("a text sequence of {} tokens is too short; it needs at least 2", length);
  TextCorpus corpus;
  corpus.length = length;
  const std::string training = split_text(bible, false);
  const std::string validation = split_text(bible, true);
  corpus.tokenizer =
      unit == TokenUnit::characters ? character_tokenizer() : word_tokenizer(std::span(&training, 1), vocabulary);
  const auto cut = [&](const std::string& text, const char* name) {
    std::vector<uint32_t> tokens = encode(corpus.tokenizer, text);
    const auto count = static_cast<int64_t>(tokens.size()) / length;
    if (count < 1) fail("the {} books hold {} tokens, fewer than one sequence of {}", name, tokens.size(), length);
    tokens.resize(static_cast<size_t>(count * length));
    return tokens;
  };
  corpus.training = cut(training, "training");
  corpus.validation = cut(validation, "validation");
  return corpus;
}

}  // namespace hdiff::text
