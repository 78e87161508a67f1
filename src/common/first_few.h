#pragma once
// Errors about many values (every invalid combination of a grid) name a few of
// them and count the rest, so that the message stays one short line.

#include <fmt/format.h>

#include <string>
#include <vector>

namespace hdiff {

// At most `shown` of `items` joined by "; ", then "(and N more)" for the rest.
inline std::string first_few(const std::vector<std::string>& items, size_t shown = 3) {
  std::string text;
  for (size_t k = 0; k < items.size() && k < shown; ++k) text += (k ? "; " : "") + items[k];
  if (items.size() > shown) text += fmt::format(" (and {} more)", items.size() - shown);
  return text;
}

}  // namespace hdiff
