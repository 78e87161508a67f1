#pragma once
// TOML configs a user gives (`hdiff phase --config`, `hdiff images experiment
// --config`, the presets), read one way: every config reader calls these two.
//
// Guarantees: the file is read by read_input_file (input_file.h: a regular
// file of at most kMaxConfigBytes, refused before one byte is read otherwise;
// a FileError naming it); the text is checked for over-deep keys
// (toml_depth.h, which would overflow toml++'s recursion) before toml++ sees
// it; every parser complaint becomes one Error "<source>:<line>: not valid
// TOML: <why>". Nothing but the file named is read.

#include <filesystem>
#include <string>
#include <string_view>

#include <toml++/toml.h>

namespace hdiff {

// The text of the config file `path`; `what` names it in errors ("config",
// "experiment file": "cannot read WHAT PATH: why").
std::string read_toml_text(const std::filesystem::path& path, const std::string& what);

// The TOML document `text`, named `source` (a file name, "preset NAME") in errors.
toml::table parse_toml_input(std::string_view text, const std::string& source);

}  // namespace hdiff
