// Output tests of `hdiff corrupt`: the observations of every channel on disk,
// the bits of the core's corrupt_batch, sample → corrupt → denoise from the
// command line alone, and for every bad input one line, exit code 2 and nothing
// left behind. tests/python/test_corrupt_cli.py checks the bits against hdiff.corrupt.

#include <gtest/gtest.h>

#include <cstring>

#include "cli/cli_support.h"
#include "common/npy.h"
#include "grammar/grammar_io.h"
#include "noise/channel.h"

namespace hdiff {
namespace {

using testing::fresh_folder;
using testing::run_hdiff;

class CorruptCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    folder = fresh_folder(::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_EQ(run_hdiff("grammar --v 6 --classes 3 --m 2 --s 2 --L 3 --seed 5 --out g.json", folder).exit_code, 0);
    ASSERT_EQ(run_hdiff("sample --grammar g.json --n 40 --seed 2 --out samples", folder).exit_code, 0);
  }
  void TearDown() override { std::filesystem::remove_all(folder); }

  // Runs `hdiff corrupt` on the samples and returns DIR/tokens.npy.
  NpyArray corrupt(const std::string& channel, const std::string& noise, int seed, const std::string& out) {
    const auto result = run_hdiff(fmt::format("corrupt --grammar g.json --tokens samples/tokens.npy --channel {} "
                                              "--noise {} --seed {} --out {}", channel, noise, seed, out), folder);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.out.find("corrupted 40 strings"), std::string::npos) << result.out;
    return read_npy(folder / out / "tokens.npy");
  }

  void expect_failure(const std::string& arguments, const std::string& message) {
    testing::expect_refused(folder, arguments, {message});
  }

  std::filesystem::path folder;
};

TEST_F(CorruptCommand, EveryChannelWritesTheBitsOfTheCore) {
  const Grammar grammar = load_grammar(folder / "g.json");
  const NpyArray clean_file = read_npy(folder / "samples" / "tokens.npy");
  const std::vector<uint32_t> clean = npy_to_u32(clean_file, "clean", 5);
  for (const char* channel : {"uniform", "mask", "soft", "gaussian"}) {
    const std::string noise = std::string(channel) == "gaussian" ? "0.4" : "0.45";
    const NpyArray written = corrupt(channel, noise, 9, std::string("out-") + channel);
    const CorruptedBatch expected = corrupt_batch({parse_channel(channel), std::stod(noise)}, 6, 8, clean, 9);
    if (std::string(channel) == "gaussian") {
      ASSERT_EQ(written.dtype, DType::f64);
      ASSERT_EQ(written.shape, (std::vector<int64_t>{40, 8, 6}));
      ASSERT_EQ(written.bytes.size(), expected.values.size() * sizeof(double));
      EXPECT_EQ(std::memcmp(written.bytes.data(), expected.values.data(), written.bytes.size()), 0);
      continue;
    }
    // The smallest unsigned type, as `hdiff sample` writes tokens.
    EXPECT_EQ(written.dtype, DType::u8) << channel;
    ASSERT_EQ(written.shape, (std::vector<int64_t>{40, 8})) << channel;
    EXPECT_EQ(npy_to_u32(written, channel, 6), expected.tokens) << channel;
  }
}

TEST_F(CorruptCommand, ChannelsDoWhatTheySay) {
  const std::vector<uint32_t> clean = npy_to_u32(read_npy(folder / "samples" / "tokens.npy"), "clean", 5);
  // soft keeps every token: the noise lives in the likelihoods of `hdiff denoise`.
  EXPECT_EQ(npy_to_u32(corrupt("soft", "0.9", 1, "soft"), "soft", 5), clean);
  const auto masked = npy_to_u32(corrupt("mask", "0.5", 1, "mask"), "mask", 6);
  int hidden = 0;
  for (size_t i = 0; i < clean.size(); ++i) {
    if (masked[i] == 6) ++hidden;
    else EXPECT_EQ(masked[i], clean[i]);
  }
  EXPECT_GT(hidden, 100);  // 320 tokens at ε = 0.5
  EXPECT_LT(hidden, 220);
  EXPECT_EQ(npy_to_u32(corrupt("uniform", "0", 1, "none"), "none", 5), clean);
  // The seed is used: two seeds give other draws, the same seed the same file.
  const auto a = corrupt("uniform", "0.8", 1, "a"), b = corrupt("uniform", "0.8", 2, "b"), c = corrupt("uniform", "0.8", 1, "c");
  EXPECT_NE(a.bytes, b.bytes);
  EXPECT_EQ(testing::read_text(folder / "a" / "tokens.npy"), testing::read_text(folder / "c" / "tokens.npy"));
}

TEST_F(CorruptCommand, SampleCorruptDenoiseRunFromTheCommandLine) {
  corrupt("mask", "0.3", 4, "noisy");
  const auto result = run_hdiff(
      "denoise --grammar g.json --tokens noisy/tokens.npy --channel mask --noise 0.3 --out posterior", folder);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  corrupt("gaussian", "0.5", 4, "values");
  ASSERT_EQ(run_hdiff("denoise --grammar g.json --tokens values/tokens.npy --channel gaussian --noise 0.5 --out g",
                      folder).exit_code, 0);
}

TEST_F(CorruptCommand, BadInputsFailCleanly) {
  const std::string base = "corrupt --grammar g.json --out c ";
  expect_failure(base + "--tokens samples/tokens.npy --channel uniform --noise 1.5", "outside [0, 1]");
  expect_failure(base + "--tokens samples/tokens.npy --channel uniform --noise nan", "not a number");
  expect_failure(base + "--tokens samples/tokens.npy --channel gaussian --noise 1", "gaussian");
  expect_failure(base + "--tokens samples/tokens.npy --channel salt --noise 0.1", "unknown noise channel");
  expect_failure(base + "--tokens samples/tokens.npy --noise 0.1", "--channel is required");
  expect_failure(base + "--tokens samples/tokens.npy --channel mask --noise ''", "--noise: the value is empty");
  expect_failure(base + "--tokens samples/tokens.npy --channel mask --noise 0.1 --seed -1", "not a non-negative integer");
  expect_failure(base + "--tokens samples/tokens.npy --channel mask --noise 0.1 --seed 18446744073709551616",
                 "above 2^64 - 1");
  expect_failure(base + "--tokens samples/latents_2.npy --channel mask --noise 0.1", "shape (40, 4) does not fit");
  expect_failure(base + "--tokens none.npy --channel mask --noise 0.1", "cannot read none.npy");
  expect_failure("corrupt --grammar none.json --tokens samples/tokens.npy --channel mask --noise 0.1 --out c",
                 "cannot read grammar");
  expect_failure("corrupt --grammar g.json --out missing/c --tokens samples/tokens.npy --channel mask --noise 0.1",
                 "does not exist");
  // Clean strings hold no MASK symbol (v) and are integers.
  const std::vector<uint8_t> masked = {0, 1, 2, 3, 4, 5, 6, 0};
  write_npy(folder / "masked.npy", DType::u8, {1, 8}, masked.data());
  expect_failure(base + "--tokens masked.npy --channel mask --noise 0.1", "out of range");
  const std::vector<float> floats(8, 0.5f);
  write_npy(folder / "floats.npy", DType::f32, {1, 8}, floats.data());
  expect_failure(base + "--tokens floats.npy --channel uniform --noise 0.1", "not an integer type");
}

}  // namespace
}  // namespace hdiff
