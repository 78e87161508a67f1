// Tokens of text and the split of the KJV by book.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"
#include "text/text_corpus.h"
#include "text/tokenizer.h"

namespace hdiff::text {
namespace {

TEST(Tokenizer, CharactersRoundTripLowercased) {
  const Tokenizer t = character_tokenizer();
  EXPECT_EQ(t.vocabulary, 37);
  const std::string text = "And God said, Let there be light: (and) there was light; who's? Amen! -";
  const auto tokens = encode(t, text);
  ASSERT_EQ(tokens.size(), text.size());
  std::string lower = text;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(decode(t, tokens), lower);
  EXPECT_EQ(tokens[0], 1u);  // 'a' after the space
  EXPECT_EQ(decode(t, std::vector<uint32_t>{1, 37, 2}, 37), "a_b");
  EXPECT_THROW(encode(t, "caf\xc3\xa9"), Error);
  EXPECT_THROW(encode(t, "a1"), Error);
}

TEST(Tokenizer, WordsKeepTheMostFrequentUnderTheCap) {
  const std::vector<std::string> texts = {"the cat and the dog, and the bird.", "The end."};
  const Tokenizer t = word_tokenizer(texts, 4);
  EXPECT_EQ(t.vocabulary, 4);
  ASSERT_EQ(t.words.size(), 4u);
  EXPECT_EQ(t.words[0], "<unk>");
  EXPECT_EQ(t.words[1], "the");  // 4 times
  EXPECT_EQ(t.words[2], ".");    // 2 times, tied with "and": alphabetical order
  EXPECT_EQ(t.words[3], "and");
  const auto tokens = encode(t, "The bird and the fish.");
  EXPECT_EQ(tokens, (std::vector<uint32_t>{1, 0, 3, 1, 0, 2}));  // bird, fish: <unk>
  EXPECT_EQ(decode(t, tokens), "the <unk> and the <unk> .");
  const auto known = encode(t, "the. And the");
  EXPECT_EQ(encode(t, decode(t, known)), known);
  EXPECT_THROW(word_tokenizer(texts, 1), Error);
}

TEST(TextCorpus, SplitsByBookAndCutsFixedLengths) {
  KjvBible bible;
  bible.verses = {{0, 1, 1, "In the beginning."}, {7, 1, 1, "Ruth one."}, {8, 1, 1, "Samuel."},
                  {40, 1, 1, "Mark one."}, {65, 22, 21, "Amen."}};
  EXPECT_EQ(split_text(bible, false), "In the beginning. Samuel. Amen.");
  EXPECT_EQ(split_text(bible, true), "Ruth one. Mark one.");
  const TextCorpus corpus = make_text_corpus(bible, TokenUnit::characters, 0, 8);
  EXPECT_EQ(corpus.training.size(), 24u);  // 31 characters: 3 sequences of 8
  EXPECT_EQ(corpus.validation.size(), 16u);
  EXPECT_EQ(decode(corpus.tokenizer, std::span(corpus.validation).subspan(0, 8)), "ruth one");
  EXPECT_THROW(make_text_corpus(bible, TokenUnit::characters, 0, 64), Error);
}

TEST(TextCorpus, RealKjvValidationBooksAreAboutFourPercent) {
  if (!std::filesystem::exists(kKjvDataPath)) GTEST_SKIP() << "bible-kjv-text is not installed";
  const TextCorpus corpus = make_text_corpus(read_kjv_bible(kKjvDataPath), TokenUnit::characters, 0, 128);
  const double share = static_cast<double>(corpus.validation.size()) /
                       static_cast<double>(corpus.validation.size() + corpus.training.size());
  EXPECT_GT(share, 0.03);
  EXPECT_LT(share, 0.06);
  const TextCorpus words = make_text_corpus(read_kjv_bible(kKjvDataPath), TokenUnit::words, 4096, 64);
  EXPECT_EQ(words.tokenizer.words[1], ",");  // the most frequent token, then "the"
  EXPECT_EQ(words.tokenizer.words[2], "the");
}

}  // namespace
}  // namespace hdiff::text
