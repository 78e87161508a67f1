#include "common/toml_input.h"

#include <fmt/format.h>

#include "common/error.h"
#include "common/input_file.h"
#include "common/toml_depth.h"

namespace hdiff {

std::string read_toml_text(const std::filesystem::path& path, const std::string& what) {
  return read_input_file(path, what, kMaxConfigBytes);
}

toml::table parse_toml_input(std::string_view text, const std::string& source) {
  check_toml_key_depth(text, source);
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    fail("{}:{}: not valid TOML: {}", source, e.source().begin.line, e.description());
  }
}

std::string toml_where(const std::string& source, const toml::node& node) {
  const auto line = node.source().begin.line;
  return line > 0 ? fmt::format("{}:{}", source, line) : source;
}

void reject_unknown_keys(const toml::table& table, const std::string& prefix, const std::set<std::string>& known,
                         const std::string& source) {
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    if (known.count(name)) continue;
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    fail("{}: unknown key '{}{}'; known keys{}: {}", toml_where(source, node), prefix, name,
         prefix.empty() ? "" : " of [" + prefix.substr(0, prefix.size() - 1) + "]", list);
  }
}

}  // namespace hdiff
