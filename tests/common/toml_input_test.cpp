// The one way TOML configs are read: the file check, the key-depth check, then
// toml++, every complaint one Error naming the source and line.

#include "common/toml_input.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "common/error.h"
#include "common/input_file.h"
#include "common/toml_depth.h"
#include "support/helpers.h"

namespace hdiff {
namespace {

using testing::error_of;

TEST(TomlInput, ParsesAConfig) {
  const toml::table root = parse_toml_input("[run]\nseed = 7\n", "c.toml");
  EXPECT_EQ(root["run"]["seed"].value<int64_t>(), 7);
}

TEST(TomlInput, SyntaxErrorsNameTheSourceAndLine) {
  const std::string error = error_of([] { parse_toml_input("[run]\nseed = = 7\n", "c.toml"); });
  EXPECT_EQ(error.rfind("c.toml:2: not valid TOML: ", 0), 0u) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

TEST(TomlInput, OverDeepKeysAreRefusedBeforeParsing) {
  std::string key = "a";
  for (int k = 0; k < kMaxTomlKeyParts; ++k) key += ".a";
  const std::string error = error_of([&] { parse_toml_input("[run]\n" + key + " = 1\n", "deep.toml"); });
  EXPECT_EQ(error.rfind("deep.toml:2: ", 0), 0u) << error;
  EXPECT_NE(error.find("more than 64 dotted parts"), std::string::npos) << error;
}

TEST(TomlInput, FilesGoThroughTheInputFileChecks) {
  const auto folder = testing::fresh_folder("toml-input");
  std::ofstream(folder / "c.toml") << "[run]\nseed = 1\n";
  EXPECT_EQ(read_toml_text(folder / "c.toml", "config"), "[run]\nseed = 1\n");
  // A FIFO with no writer is refused without waiting, a folder and an oversized file are refused.
  ASSERT_EQ(::mkfifo((folder / "fifo.toml").c_str(), 0600), 0);
  EXPECT_NE(error_of([&] { read_toml_text(folder / "fifo.toml", "config"); }).find("cannot read config"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_toml_text(folder, "config"); }).find("cannot read config"), std::string::npos);
  std::filesystem::resize_file(folder / "c.toml", kMaxConfigBytes + 1);
  EXPECT_NE(error_of([&] { read_toml_text(folder / "c.toml", "experiment file"); }).find("experiment file"),
            std::string::npos);
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace hdiff
