#include "common/json_input.h"

#include "common/error.h"

namespace hdiff {

nlohmann::json parse_json_input(std::string_view text, const std::string& source, const std::string& hint) {
  bool too_deep = false;
  // Deep nesting is refused while parsing: copying or printing a deep tree recurses.
  const nlohmann::json::parser_callback_t limit_depth = [&too_deep](int depth, nlohmann::json::parse_event_t,
                                                                    nlohmann::json&) {
    if (depth > kMaxJsonDepth) too_deep = true;
    return !too_deep;
  };
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text.begin(), text.end(), limit_depth);
  } catch (const nlohmann::json::exception& e) {
    if (!too_deep) fail("{}: not valid JSON ({}); {}", source, e.what(), hint);
  }
  if (too_deep) fail("{}: JSON nested more than {} levels deep; {}", source, kMaxJsonDepth, hint);
  return document;
}

}  // namespace hdiff
