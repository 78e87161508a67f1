#include "common/toml_depth.h"

#include <vector>

#include "common/error.h"

namespace hdiff {

namespace {

// The index just past the string that starts at text[i] (a quote), counting its newlines.
size_t skip_string(std::string_view text, size_t i, int& line) {
  const char quote = text[i];
  const bool basic = quote == '"';  // escapes; literal strings ('…') have none
  const bool multiline = text.substr(i, 3) == std::string_view(quote == '"' ? "\"\"\"" : "'''");
  size_t k = i + (multiline ? 3 : 1);
  while (k < text.size()) {
    const char c = text[k];
    if (basic && c == '\\') {
      if (k + 1 < text.size() && text[k + 1] == '\n') ++line;  // a line-ending backslash
      k += 2;
      continue;
    }
    if (c == '\n') {
      if (!multiline) return k;  // unterminated: the parser reports it
      ++line;
    }
    if (c == quote && (!multiline || text.substr(k, 3) == text.substr(i, 3))) return k + (multiline ? 3 : 1);
    ++k;
  }
  return k;
}

}  // namespace

void check_toml_key_depth(std::string_view text, const std::string& source) {
  int line = 1;
  bool in_key = true;       // reading a key (else a value)
  bool in_header = false;   // inside [table] or [[array]]
  bool line_empty = true;   // nothing but blanks on this line so far
  int parts = 1;            // of the key being read, plus those of the inline tables it is in
  // The arrays ('[') and inline tables ('{') the value is inside, each with the
  // parts of the key whose value it is.
  struct Open {
    char bracket;
    int parts;
  };
  std::vector<Open> nest;
  // A key starts below the inline table it is in (keys start only there or outside any).
  auto start_key = [&] {
    in_key = true;
    parts = 1 + (nest.empty() ? 0 : nest.back().parts);
  };
  // Leaves the innermost array or inline table, back at its key's depth.
  auto close = [&] {
    parts = nest.back().parts;
    nest.pop_back();
  };
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      line_empty = true;
      if (nest.empty()) start_key();
      ++i;
      continue;
    }
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    const bool first_on_line = line_empty && c != ' ' && c != '\t' && c != '\r';
    if (first_on_line) line_empty = false;
    if (c == '"' || c == '\'') {
      i = skip_string(text, i, line);
      continue;
    }
    if (in_key) {
      if (c == '.' && ++parts > kMaxTomlKeyParts)
        fail("{}:{}: a key of more than {} dotted parts (counting the inline tables it is in); hdiff's configs use "
             "keys like [run] or grammar.v",
             source, line, kMaxTomlKeyParts);
      if (c == '=' && !in_header) {
        in_key = false;  // `parts` stays: an inline table in the value nests below this key
      } else if (c == '[' && nest.empty() && (first_on_line || in_header)) {
        in_header = true;
      } else if (c == ']' && in_header) {
        in_header = false;
        parts = 1;
      } else if (c == '}' && !nest.empty()) {
        close();  // an empty inline table, or one that ends after a comma
        in_key = false;
      }
    } else if (c == '[' || c == '{') {
      nest.push_back({c, parts});
      if (c == '{') {
        if (parts + 1 > kMaxTomlKeyParts)
          fail("{}:{}: inline tables nested more than {} keys deep; hdiff's configs use keys like [run] or grammar.v",
               source, line, kMaxTomlKeyParts);
        start_key();
      }
    } else if ((c == ']' || c == '}') && !nest.empty()) {
      close();
    } else if (c == ',' && !nest.empty() && nest.back().bracket == '{') {
      start_key();
    }
    ++i;
  }
}

}  // namespace hdiff
