#pragma once
// A bound on TOML keys checked before toml++ parses a config: toml++ bounds
// nested values but builds the tables of a dotted key ([a.b.c], a.b.c = 1) by
// recursion, so a key of tens of thousands of parts overflows the stack.

#include <string>
#include <string_view>

namespace hdiff {

// Keys (table headers, keys of key-value pairs, keys in inline tables) of more
// parts than this are refused; hdiff's configs use two.
inline constexpr int kMaxTomlKeyParts = 64;

// Throws Error "<source>:<line>: …" when a key in `text` has more than
// kMaxTomlKeyParts dot-separated parts. Reads nothing but `text`; anything else
// wrong with it is left to the TOML parser.
void check_toml_key_depth(std::string_view text, const std::string& source);

}  // namespace hdiff
