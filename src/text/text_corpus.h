#pragma once
// The KJV corpus as fixed-length token sequences, split by book (docs/text.md).
// Validation books: Ruth, Ecclesiastes, Daniel, Mark and James (4.7 % of
// the characters, across law-history, wisdom, prophecy, gospel and epistle);
// every other book trains. Each split's verses, in canonical order, are joined
// by one space into one text, tokenised, and cut into consecutive sequences of
// `length` tokens (the last partial sequence is dropped). The word vocabulary
// is built from the training books only. Plain C++: no LibTorch.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "text/kjv_reader.h"
#include "text/tokenizer.h"

namespace hdiff::text {

inline constexpr std::array<int, 5> kValidationBooks = {7, 20, 26, 40, 58};  // Ruth, Eccl, Dan, Mark, Jas
bool is_validation_book(int book);

// The split's verses joined by single spaces.
std::string split_text(const KjvBible& bible, bool validation);

struct TextCorpus {
  Tokenizer tokenizer;
  int64_t length = 0;              // tokens per sequence
  std::vector<uint32_t> training;  // training sequences × length
  std::vector<uint32_t> validation;
};

// `vocabulary` is the word cap (ignored for characters); `length` ≥ 2.
TextCorpus make_text_corpus(const KjvBible& bible, TokenUnit unit, int vocabulary, int64_t length);

}  // namespace hdiff::text
