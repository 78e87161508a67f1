// The bound on TOML key depth that guards toml++'s recursion.

#include "common/toml_depth.h"

#include <gtest/gtest.h>

#include <string>

#include "common/error.h"
#include "support/helpers.h"

namespace hdiff {
namespace {

using testing::error_of;

std::string dotted(int parts) {
  std::string key = "a";
  for (int k = 1; k < parts; ++k) key += ".a";
  return key;
}

TEST(TomlDepth, KeysOfMoreThanTheBoundAreRefusedWhereverTheyStand) {
  const std::string deep = dotted(kMaxTomlKeyParts + 1);
  for (const std::string& text : {"[" + deep + "]\n", "[[" + deep + "]]\n", deep + " = 1\n", "x = { " + deep + " = 1 }\n",
                                  "x = [ { b = 2 }, { " + deep + " = 1 } ]\n", "x = { b = 2, " + deep + " = 1 }\n",
                                  "[run]\nseed = 1\n\n" + deep + " = 1\n", "\"q\".\"r\"." + deep + " = 1\n"}) {
    const std::string error = error_of([&] { check_toml_key_depth(text, "deep.toml"); });
    EXPECT_NE(error.find("deep.toml:"), std::string::npos) << text;
    EXPECT_NE(error.find("more than 64 dotted parts"), std::string::npos) << text << ": " << error;
  }
  // The line is the key's.
  EXPECT_NE(error_of([&] { check_toml_key_depth("[run]\nseed = 1\n\n" + deep + " = 1\n", "deep.toml"); }).find("deep.toml:4:"),
            std::string::npos);
  // Keys inside inline tables count the keys of the tables they are in.
  const std::string half = dotted(kMaxTomlKeyParts / 2);
  EXPECT_NE(error_of([&] { check_toml_key_depth(half + " = { " + half + " = { " + half + " = 1 } }\n", "nested.toml"); })
                .find("nested.toml:1:"),
            std::string::npos);
  std::string nested = "x = ";
  for (int k = 0; k < 200; ++k) nested += "{ a = ";
  EXPECT_NE(error_of([&] { check_toml_key_depth(nested + "1" + std::string(200, '}') + "\n", "nested.toml"); })
                .find("nested more than 64 keys deep"),
            std::string::npos);
  // Lines are counted through a line-ending backslash in a multi-line string.
  EXPECT_NE(error_of([&] { check_toml_key_depth("a = \"\"\"x\\\ny\"\"\"\n" + deep + " = 1\n", "lines.toml"); })
                .find("lines.toml:3:"),
            std::string::npos);
  // A crash-sized key is refused as quickly.
  EXPECT_NE(error_of([&] { check_toml_key_depth("[" + dotted(50000) + "]\n", "huge.toml"); }).find("huge.toml:1:"),
            std::string::npos);
}

TEST(TomlDepth, KeysWithinTheBoundAndDotsOutsideKeysPass) {
  const std::string deepest = dotted(kMaxTomlKeyParts), half = dotted(kMaxTomlKeyParts / 2);
  std::string floats = "values = [";
  for (int k = 0; k < 500; ++k) floats += "0.5, ";
  floats += "0.25]\n";
  for (const std::string& text : {
           "[" + deepest + "]\n", deepest + " = 1\n", floats,
           "name = \"" + dotted(1000) + "\"\n",                  // in a basic string
           "name = '" + dotted(1000) + "'\n",                    // in a literal string
           "text = \"\"\"\n" + dotted(1000) + "\n\"\"\"\n",      // in a multi-line string
           "text = '''\n" + dotted(1000) + " = 1\n'''\n",        // looks like a key, but is inside a string
           "escaped = \"\\\"" + dotted(1000) + "\"\n",           // after an escaped quote
           "# " + dotted(1000) + "\n",                           // a comment
           "x = [\n  " + floats.substr(9) + "]\n",               // a multi-line array of floats
           "\"" + dotted(1000) + "\" = 1\n",                     // a quoted key is one part
           half + " = { " + half + " = 1, b = { c = 2 } }\n",  // 32 + 32 parts; 32 + 1 + 1
           "x = [ { " + dotted(kMaxTomlKeyParts - 1) + " = 1 }, { " + dotted(kMaxTomlKeyParts - 1) +
               " = 2 } ]\n",  // 1 + 63 parts, in siblings, not nested
           std::string("x = { a = 1.5, b = 2.5 }\n[y]\nz = 0.5\n")}) {
    EXPECT_NO_THROW(check_toml_key_depth(text, "fine.toml")) << text.substr(0, 200);
  }
}

}  // namespace
}  // namespace hdiff
