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
#include <set>
#include <string>
#include <string_view>

#include <toml++/toml.h>

namespace hdiff {

// The text of the config file `path`; `what` names it in errors ("config",
// "experiment file": "cannot read WHAT PATH: why").
std::string read_toml_text(const std::filesystem::path& path, const std::string& what);

// The TOML document `text`, named `source` (a file name, "preset NAME") in errors.
toml::table parse_toml_input(std::string_view text, const std::string& source);

// "<source>:<line>" of `node` (just `source` when toml++ knows no line): how
// every config error names where it is.
std::string toml_where(const std::string& source, const toml::node& node);

// Refuses the first key of `table` not in `known` with one Error naming where
// it is, the key (after `prefix`, e.g. "grammar."), its section and the keys known.
void reject_unknown_keys(const toml::table& table, const std::string& prefix, const std::set<std::string>& known,
                         const std::string& source);

}  // namespace hdiff
