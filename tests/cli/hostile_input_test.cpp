// Hostile inputs to the core commands (issue 10), each class crafted here: exit
// code 2, exactly one stderr line naming the file or option and the problem, no
// output left behind, no signal.

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <string>

#include "cli/cli_support.h"

namespace hdiff {
namespace {

using testing::fresh_folder;
using testing::run_hdiff;

class HostileInput : public ::testing::Test {
 protected:
  void SetUp() override {
    folder = fresh_folder(std::string("hostile-") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_EQ(run_hdiff("grammar --v 6 --classes 3 --m 2 --s 2 --L 3 --seed 5 --out g.json", folder).exit_code, 0);
  }
  void TearDown() override { std::filesystem::remove_all(folder); }

  void write(const std::string& name, const std::string& bytes) {
    std::ofstream(folder / name, std::ios::binary) << bytes;
  }

  // Exit 2, one line holding every one of `needles`, and the folder as before.
  void expect_refused(const std::string& arguments, std::initializer_list<std::string> needles) {
    testing::expect_refused(folder, arguments, needles);
  }

  // An .npy file of 8-byte little-endian integers with the header text `dict`.
  static std::string npy(const std::string& dict, const std::string& data = std::string(16 * 8, '\0')) {
    std::string header = dict;
    header += std::string((64 - (10 + header.size() + 1) % 64) % 64, ' ') + "\n";
    std::string out("\x93NUMPY\x01\x00", 8);
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>(header.size() >> 8);
    return out + header + data;
  }

  std::filesystem::path folder;
};

TEST_F(HostileInput, NpyHeadersAreReadStrictly) {
  const std::string denoise = "denoise --grammar g.json --noise 0.1 --out out --tokens ";
  // A well-formed file is accepted, so the refusals below are about the header alone.
  write("good.npy", npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 8), }"));
  ASSERT_EQ(run_hdiff(denoise + "good.npy", folder).exit_code, 0);
  std::filesystem::remove_all(folder / "out");
  const std::pair<const char*, const char*> cases[] = {
      {"{'descr': '<i8', 'fortran_order': False, 'shape': (-2, 8), }", "non-negative integers"},
      {"{'descr': '<i8', 'fortran_order': False, 'shape': (2x8junk), }", "non-negative integers"},
      {"{'descr': '<i8', 'fortran_order': False, 'shape': (2, 8), ", "not closed with '}'"},
      {"{'descr': '<i8', 'fortran_order': False, 'shape': (2, 8)", "expected ',' or '}'"},
      {"{'descr': '<i8', 'fortran_order': False, 'shape': , }", "expected '('"},
      {"{'descr': '<i8', 'fortran_order': False, 'shape': (2, 8), 'shape': (2, 8)}", "repeated key"},
      {"{'descr': '<i8', 'fortran_order': False, 'shape': (2, 8), } junk", "after the closing"},
      {"{'descr': '<i8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4), }", "too large"},
      {"{'descr': '<i8', 'fortran_order': False, 'shape': (99999999999999999999, 8), }", "too large"},
      {"{'descr': '<i8', 'fortran_order': False}", "needs the keys"},
  };
  for (const auto& [header, problem] : cases) {
    write("bad.npy", npy(header));
    expect_refused(denoise + "bad.npy", {"bad.npy", problem});
  }
  // An empty shape is a scalar, and zero rows are no observations: clear errors, no internal ones.
  write("bad.npy", npy("{'descr': '<i8', 'fortran_order': False, 'shape': (), }", std::string(8, '\0')));
  expect_refused(denoise + "bad.npy", {"bad.npy", "shape () does not fit"});
  write("bad.npy", npy("{'descr': '<i8', 'fortran_order': False, 'shape': (0, 8), }", ""));
  expect_refused(denoise + "bad.npy", {"bad.npy", "holds no observations"});
}

TEST_F(HostileInput, GrammarJsonNumbersAndNesting) {
  write("big.json", R"({"format": "hdiff-grammar", "version": 1, "v": 1e400})");
  expect_refused("sample --grammar big.json --n 2 --out out", {"big.json", "not valid JSON", "1e400"});
  write("deep.json", std::string(100000, '[') + std::string(100000, ']'));
  expect_refused("sample --grammar deep.json --n 2 --out out", {"deep.json", "nested more than 64 levels"});
}

TEST_F(HostileInput, SeedsAreNeverWrappedOrSaturated) {
  for (const char* seed : {"-1", "99999999999999999999", "18446744073709551616", "1e3", "0x10", " 7"})
    expect_refused(std::string("sample --grammar g.json --n 2 --out out --seed '") + seed + "'", {"--seed"});
  const auto largest = run_hdiff("sample --grammar g.json --n 2 --out out --seed 18446744073709551615", folder);
  EXPECT_EQ(largest.exit_code, 0) << largest.err;
}

TEST_F(HostileInput, ThreadCountsAreRefusedOutsideTheirRange) {
  write("tokens.npy", npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 8), }"));
  for (const char* threads : {"100000", "-1", "1025", ""}) {
    const std::string option = std::string(" --threads '") + threads + "'";
    expect_refused("denoise --grammar g.json --noise 0.1 --tokens tokens.npy --out out" + option, {"--threads"});
    expect_refused("phase --out out" + option, {"--threads"});
    expect_refused("theory --v 8 --m 2 --noise 0.1 --out out" + option, {"--threads"});
  }
}

TEST_F(HostileInput, EmptyNumbersAreNotZero) {
  write("tokens.npy", npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 8), }"));
  expect_refused("denoise --grammar g.json --noise '' --tokens tokens.npy --out out", {"--noise", "empty"});
  expect_refused("sample --grammar g.json --n '' --out out", {"--n", "empty"});
}

TEST_F(HostileInput, PhaseConfigRefusesRepeatedAndWrappedValues) {
  const std::string grammar = "[grammar]\nv = 8\nclasses = 4\nm = 2\ns = 2\nseeds = 1\n";
  const std::string run = "[run]\nsamples = 4\nseed = 0\n";
  write("twice.toml", grammar + "L = [2]\n" + run + "[noise]\nchannel = \"uniform\"\nvalues = [0.1, 0.2, 0.1]\n");
  expect_refused("phase --config twice.toml --out out", {"twice.toml", "noise level 0.1 twice"});
  write("times.toml",
        grammar + "L = [2]\n" + run + "[noise]\nchannel = \"uniform\"\nschedule = \"linear\"\ntimes = [5, 5]\n");
  expect_refused("phase --config times.toml --out out", {"times.toml", "twice"});
  write("wrap.toml", grammar + "L = [4294967298]\n" + run + "[noise]\nchannel = \"uniform\"\nvalues = [0.1]\n");
  expect_refused("phase --config wrap.toml --out out", {"wrap.toml", "4294967298", "out of range"});
  // A float far outside int64 where an integer belongs (found by fuzz_toml_config: toml++ converted it with UB).
  write("float.toml", "[grammar]\nv = 8\nclasses = 4\nm = 2\ns = 2\nseeds = 1\nL = [2]\n"
                      "[run]\nsamples = 4\nseed = 8.8e86\n[noise]\nchannel = \"uniform\"\nvalues = [0.1]\n");
  expect_refused("phase --config float.toml --out out", {"float.toml", "run.seed must be an integer"});
  // A dotted key of 50 000 parts overflowed toml++'s recursion (a crash, found in review).
  std::string key = "a";
  for (int k = 1; k < 50000; ++k) key += ".a";
  write("deep.toml", "[" + key + "]\n");
  expect_refused("phase --config deep.toml --out out", {"deep.toml:1:", "dotted parts"});
  write("deep_value.toml", grammar + key + " = 1\n");
  expect_refused("phase --config deep_value.toml --out out", {"deep_value.toml:7:", "dotted parts"});
}

// Paths the system cannot look up (found in review: filesystem exceptions surfaced as internal errors, exit 3).
TEST_F(HostileInput, OutputPathsTheSystemRefusesAreErrors) {
  const std::string long_name(300, 'a');
  expect_refused("grammar --v 8 --classes 4 --m 2 --L 2 --out " + long_name + ".json", {"File name too long"});
  expect_refused("sample --grammar g.json --n 2 --out " + long_name, {"File name too long"});
  expect_refused("denoise --grammar g.json --noise 0.1 --tokens g.json --out " + long_name, {"File name too long"});
  std::filesystem::create_symlink("loop_b", folder / "loop_a");
  std::filesystem::create_symlink("loop_a", folder / "loop_b");
  expect_refused("sample --grammar g.json --n 2 --out loop_a", {"loop_a", "symbolic links"});
  expect_refused("grammar --v 8 --classes 4 --m 2 --L 2 --out loop_a/g.json", {"loop_a", "symbolic links"});
  // A file where a folder belongs was called a missing folder.
  expect_refused("grammar --v 8 --classes 4 --m 2 --L 2 --out g.json/g2.json", {"g.json/g2.json", "a part of it is a file"});
  expect_refused("sample --grammar g.json --n 2 --out g.json/out", {"g.json/out", "a part of it is a file"});
}

// Finite gaussian values so large that √ᾱ/(1-ᾱ)·x overflows gave log p(obs) = inf or NaN with exit 0 (found in review).
TEST_F(HostileInput, GaussianValuesThatWouldOverflowAreRefused) {
  std::string huge;
  for (int k = 0; k < 8 * 6; ++k) {
    const double x = k % 2 == 0 ? 1e308 : -1e308;
    huge.append(reinterpret_cast<const char*>(&x), sizeof x);
  }
  write("huge.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 8, 6), }", huge));
  // At alpha-bar = 0 the coupling is 0, and x - top alone overflowed (found in review of the first fix).
  for (const char* noise : {"0", "1e-20", "0.5", "0.9"})
    expect_refused(std::string("denoise --grammar g.json --channel gaussian --noise ") + noise + " --tokens huge.npy --out out",
                   {"observation 0", "gaussian value 1e+308 at leaf 0, symbol 0", "out of range"});
}

// Lists and integers that CLI11 would silently shorten or saturate (found in review).
TEST_F(HostileInput, ListsAndIntegersAreTakenWhole) {
  expect_refused("theory --v 8 --classes 4 --m 2 --noise 0.1,,0.2 --out out", {"--noise", "'0.1,,0.2'", "empty item"});
  expect_refused("theory --v 8 --classes 4 --m 2 --noise=0.1,0.2, --out out", {"--noise", "empty item"});
  expect_refused("theory --v 8,8 --classes 4 --m 2 --threshold --out out", {"--v", "8 is given twice"});
  expect_refused("theory --v 8 8 --classes 4 --m 2 --threshold --out out", {"--v", "8 is given twice"});
  expect_refused("theory --v 8 --classes 4 --m 2 --noise 0.1 --noise 0.1 --out out", {"--noise", "0.1 is given twice"});
  expect_refused("theory --v 8 --classes 4 --m 2 --noise 0.1 --depths 2,4,2 --out out", {"--depths", "2 is given twice"});
  expect_refused("sample --grammar g.json --n 99999999999999999999 --out out", {"--n", "99999999999999999999", "out of range"});
  expect_refused("sample --grammar g.json --n 0x10000000000000000 --out out", {"--n", "not a decimal integer"});
  expect_refused("theory --noise 0.1 --population +99999999999999999999 --out out", {"--population", "not a decimal"});
  expect_refused("theory --noise 0.1 --population -99999999999999999999 --out out", {"--population", "out of range"});
  // Help is still help.
  EXPECT_EQ(run_hdiff("theory --noise 0.1,,0.2 --help", folder).exit_code, 0);
  std::filesystem::create_directory(folder / "a_folder");
  // A folder is read as a phase run: its results.csv must be there.
  expect_refused("theory --v 8 --classes 4 --m 2 --compare a_folder --out out", {"cannot read a_folder/results.csv"});
}

// CLI11 read integers in base 0: `--v 010` was 8, `--n 0x10` 16, `--depths 010`
// 8 while `--depths 08` was refused (issue 25). Decimal digits only, everywhere,
// lists too; a leading zero is refused rather than guessed.
TEST_F(HostileInput, IntegersAreDecimalOnly) {
  for (const char* number : {"010", "0x10", "0X10", "08", "+8", " 8", "8 ", "1e1", "0b11", "00"}) {
    const std::string n = std::string("'") + number + "'";
    expect_refused("grammar --v " + n + " --classes 4 --m 2 --L 2 --out g2.json", {"--v", "decimal"});
    expect_refused("sample --grammar g.json --n " + n + " --out out", {"--n", "decimal"});
    expect_refused("theory --v 8 --classes 4 --m 2 --noise 0.1 --depths 2," + n + " --out out", {"--depths", "decimal"});
    expect_refused("theory --v 8 --classes 4 --m 2 --noise 0.1 --population " + n + " --out out", {"--population", "decimal"});
    expect_refused("phase --out out --threads " + n, {"--threads"});
    expect_refused("sample --grammar g.json --n 2 --out out --seed " + n, {"--seed"});
  }
  expect_refused("sample --grammar g.json --n -2 --out out", {"--n"});
  // Plain decimals, and 0 itself, are taken.
  EXPECT_EQ(run_hdiff("grammar --v 10 --classes 4 --m 2 --L 2 --seed 0 --out g10.json", folder).exit_code, 0);
  EXPECT_NE(testing::read_text(folder / "g10.json").find("\"v\":10"), std::string::npos);
  EXPECT_EQ(run_hdiff("sample --grammar g.json --n 16 --seed 0 --out out", folder).exit_code, 0);
  EXPECT_NE(run_hdiff("theory --help", folder).out.find("Integers are decimal digits"), std::string::npos);
}

// Every invalid combination of a 98 × 100 grid was listed: a 1.7 MB "line" (issue 25).
TEST_F(HostileInput, InvalidGridCombinationsAreCountedNotListed) {
  std::string vs = "2", ms = "1000";
  for (int k = 3; k < 100; ++k) vs += "," + std::to_string(k);
  for (int k = 1001; k < 1100; ++k) ms += "," + std::to_string(k);
  const auto theory = run_hdiff("theory --v " + vs + " --classes 2 --m " + ms + " --threshold --out out", folder);
  EXPECT_EQ(theory.exit_code, 2) << theory.err.substr(0, 500);
  EXPECT_NE(theory.err.find("of the 9800 model combinations of the lists are invalid"), std::string::npos)
      << theory.err.substr(0, 500);
  EXPECT_NE(theory.err.find(" more)"), std::string::npos) << theory.err.substr(0, 500);
  EXPECT_LT(theory.err.size(), 1000u);
  EXPECT_EQ(std::count(theory.err.begin(), theory.err.end(), '\n'), 1);
  write("grid.toml", "[grammar]\nv = [" + vs + "]\nclasses = 2\nm = [" + ms + "]\ns = 2\nL = [2]\nseeds = 1\n"
                     "[run]\nsamples = 4\nseed = 0\n[noise]\nchannel = \"uniform\"\nvalues = [0.1]\n");
  const auto phase = run_hdiff("phase --config grid.toml --out out", folder);
  EXPECT_EQ(phase.exit_code, 2) << phase.err.substr(0, 500);
  EXPECT_NE(phase.err.find("of the 9800 grammar combinations of the lists are invalid"), std::string::npos)
      << phase.err.substr(0, 500);
  EXPECT_LT(phase.err.size(), 1000u);
  EXPECT_EQ(std::count(phase.err.begin(), phase.err.end(), '\n'), 1);
}

// A run killed mid-way leaves no output folder, only its staging folder with the
// journal (for --resume; docs/cluster.md). The staging folder's presence also shows
// the run got past its checks and was killed while working.
TEST_F(HostileInput, KilledPhaseLeavesNoPartialOutput) {
  write("long.toml",
        "[grammar]\nv = 16\nclasses = 16\nm = 4\ns = 2\nL = [8]\nseeds = 1\n[noise]\nchannel = \"uniform\"\n"
        "values = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12, 0.13, 0.14, 0.15, 0.16]\n"
        "[run]\nsamples = 200000\nseed = 0\n");  // over a minute of work: never done within the 2 s
  const std::string command = "cd '" + folder.string() + "' && ('" + HDIFF_BINARY +
                              "' phase --config long.toml --out out --threads 1 > /dev/null 2>&1 & pid=$!; sleep 2; "
                              "kill -KILL $pid; wait $pid; true) 2> /dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  EXPECT_FALSE(std::filesystem::exists(folder / "out")) << "a killed phase left partial output";
  EXPECT_TRUE(std::filesystem::is_directory(folder / ".out.unfinished")) << "the run was not working when killed";
}

}  // namespace
}  // namespace hdiff
