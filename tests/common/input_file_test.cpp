// Inputs read through read_input_file: regular files (and links to them) are
// read whole; FIFOs, devices and folders are refused before one byte is read,
// so that no input hangs a run or grows its memory (issue 25).

#include "common/input_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <thread>

#include "common/error.h"
#include "support/helpers.h"

namespace hdiff {
namespace {

using testing::error_of;

class InputFileTest : public ::testing::Test {
 protected:
  void SetUp() override { folder = testing::fresh_folder("input-file"); }
  void TearDown() override { std::filesystem::remove_all(folder); }
  std::filesystem::path folder;
};

TEST_F(InputFileTest, RegularFilesAndLinksToThemAreReadWhole) {
  std::ofstream(folder / "a.txt", std::ios::binary) << std::string("abc\0def", 7);
  std::filesystem::create_symlink("a.txt", folder / "link.txt");
  EXPECT_EQ(read_input_file(folder / "a.txt", "config", 7), std::string("abc\0def", 7));
  EXPECT_EQ(read_input_file(folder / "link.txt", "config", 100), std::string("abc\0def", 7));
  EXPECT_EQ(InputFile::open(folder / "a.txt", "").read_at(4, 100), "def");
  std::ofstream(folder / "empty.txt");
  EXPECT_EQ(read_input_file(folder / "empty.txt", "config", 0), "");
  // /proc files are regular files whose size reads as 0: read to their end all the same.
  EXPECT_NE(read_input_file("/proc/self/status", "", 1 << 20).find("Name:"), std::string::npos);
}

TEST_F(InputFileTest, MissingFoldersAndTooLargeFilesAreRefused) {
  EXPECT_EQ(error_of([&] { read_input_file(folder / "none", "grammar", 10); }),
            "cannot read grammar " + (folder / "none").string() + ": no such file or not readable");
  EXPECT_NE(error_of([&] { read_input_file(folder, "grammar", 10); }).find("it is a folder, not a regular file"),
            std::string::npos);
  std::ofstream(folder / "big.txt") << std::string(11, 'x');
  EXPECT_NE(error_of([&] { read_input_file(folder / "big.txt", "config", 10); }).find("more than 10 bytes"),
            std::string::npos);
  EXPECT_THROW(read_input_file(folder / "none", "grammar", 10), FileError);
}

// Endless devices and FIFOs without a writer were read until memory ran out, or forever.
TEST_F(InputFileTest, DevicesAndFifosAreRefusedWithoutReading) {
  ASSERT_EQ(::mkfifo((folder / "fifo").c_str(), 0600), 0);
  for (const std::filesystem::path path : {std::filesystem::path("/dev/zero"), std::filesystem::path("/dev/urandom"),
                                           folder / "fifo"}) {
    // A hang fails the test instead of blocking it (the reader is left behind, detached).
    auto done = std::make_shared<std::promise<std::string>>();
    std::future<std::string> message = done->get_future();
    std::thread([done, path] { done->set_value(error_of([&] { read_input_file(path, "config", 1 << 20); })); }).detach();
    ASSERT_EQ(message.wait_for(std::chrono::seconds(20)), std::future_status::ready) << path << " hangs";
    const std::string text = message.get();
    EXPECT_NE(text.find("cannot read config " + path.string() + ": it is a "), std::string::npos) << text;
    EXPECT_NE(text.find("not a regular file"), std::string::npos) << text;
  }
  EXPECT_NE(error_of([&] { check_regular_input("/dev/null", "checkpoint"); }).find("a character device"), std::string::npos);
}

}  // namespace
}  // namespace hdiff
