#include "common/toml_input.h"

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

}  // namespace hdiff
