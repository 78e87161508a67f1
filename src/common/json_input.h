#pragma once
// JSON from files a user gives: parsed with a nesting limit, every parser
// exception (syntax, number overflow such as 1e400) turned into an hdiff::Error.

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace hdiff {

// Deepest nesting of arrays and objects accepted; hdiff's JSON inputs nest a few levels.
inline constexpr int kMaxJsonDepth = 64;

// Parses `text`; errors read "SOURCE: not valid JSON (why); HINT".
nlohmann::json parse_json_input(std::string_view text, const std::string& source, const std::string& hint);

}  // namespace hdiff
