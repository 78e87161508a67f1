// Output tests of `hdiff grammar`, `sample` and `denoise`: results on disk, and
// for every bad input one line on stderr, exit code 2 and no output left behind.

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>

#include "cli/cli_support.h"
#include "common/npy.h"
#include "grammar/grammar_io.h"
#include "grammar/sampling.h"

namespace hdiff {
namespace {

using testing::fresh_folder;
using testing::run_hdiff;

std::vector<double> doubles(const NpyArray& array) {
  EXPECT_EQ(array.dtype, DType::f64);
  std::vector<double> values(static_cast<size_t>(array.size()));
  std::memcpy(values.data(), array.bytes.data(), values.size() * sizeof(double));
  return values;
}

class CoreCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    folder = fresh_folder(::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_EQ(run_hdiff("grammar --v 6 --classes 3 --m 2 --s 2 --L 3 --seed 5 --out g.json", folder).exit_code, 0);
    ASSERT_EQ(run_hdiff("sample --grammar g.json --n 7 --seed 2 --out samples", folder).exit_code, 0);
  }
  void TearDown() override { std::filesystem::remove_all(folder); }

  // Expects a clean failure: exit 2, one line naming `message`, and the folder as before.
  void expect_failure(const std::string& arguments, const std::string& message) {
    testing::expect_refused(folder, arguments, {message});
  }

  std::filesystem::path folder;
};

TEST_F(CoreCommands, SampleWritesTokensAndLatentsThatParse) {
  const Grammar grammar = load_grammar(folder / "g.json");
  const auto tokens = read_npy(folder / "samples/tokens.npy");
  EXPECT_EQ(tokens.dtype, DType::u8);
  EXPECT_EQ(tokens.shape, (std::vector<int64_t>{7, 8}));
  const auto values = npy_to_u32(tokens, "tokens", 5);
  for (int level = 0; level <= 3; ++level) {
    const auto latents = read_npy(folder / ("samples/latents_" + std::to_string(level) + ".npy"));
    EXPECT_EQ(latents.shape, (std::vector<int64_t>{7, int64_t{1} << level}));
  }
  const auto classes = npy_to_u32(read_npy(folder / "samples/latents_0.npy"), "classes", 2);
  for (int n = 0; n < 7; ++n) {
    const auto parsed = parse(grammar, std::span<const uint32_t>(values.data() + n * 8, 8));
    ASSERT_TRUE(parsed.valid);
    EXPECT_EQ(parsed.tree[0], classes[static_cast<size_t>(n)]);
  }
  const auto shown = run_hdiff("grammar --show g.json", folder);
  EXPECT_EQ(shown.exit_code, 0);
  EXPECT_NE(shown.out.find("f = m / v^(s-1) = 0.333333"), std::string::npos) << shown.out;
}

TEST_F(CoreCommands, DenoiseWritesEveryArray) {
  const auto result = run_hdiff(
      "denoise --grammar g.json --tokens samples/tokens.npy --channel uniform --noise 0.3 --posterior-samples 4 "
      "--map --out d",
      folder);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  for (int level = 0; level <= 3; ++level) {
    const auto marginals = read_npy(folder / ("d/marginals_" + std::to_string(level) + ".npy"));
    EXPECT_EQ(marginals.dtype, DType::f64);
    EXPECT_EQ(marginals.shape, (std::vector<int64_t>{7, int64_t{1} << level, level == 0 ? 3 : 6}));
  }
  EXPECT_EQ(read_npy(folder / "d/log_evidence.npy").shape, (std::vector<int64_t>{7}));
  EXPECT_EQ(read_npy(folder / "d/posterior_tokens.npy").shape, (std::vector<int64_t>{7, 4, 8}));
  EXPECT_EQ(read_npy(folder / "d/map_tokens.npy").shape, (std::vector<int64_t>{7, 8}));
}

TEST_F(CoreCommands, DenoiseSoftReadsTheCleanStringThroughTheEpsilonProcess) {
  // The clean samples themselves are the observation; at ε = 0 they are certain.
  ASSERT_EQ(run_hdiff("denoise --grammar g.json --tokens samples/tokens.npy --channel soft --noise 0 --out exact", folder)
                .exit_code, 0);
  const auto classes = npy_to_u32(read_npy(folder / "samples/latents_0.npy"), "classes", 2);
  const auto certain = doubles(read_npy(folder / "exact/marginals_0.npy"));
  // 1 up to the rounding of the batch path, which computes in floats.
  for (int n = 0; n < 7; ++n)
    EXPECT_NEAR(certain[static_cast<size_t>(n * 3 + classes[static_cast<size_t>(n)])], 1.0, 1e-6) << n;
  // At ε = 0.6 the marginals equal those of uniform noise that happened to leave every token in place.
  ASSERT_EQ(run_hdiff("denoise --grammar g.json --tokens samples/tokens.npy --channel soft --noise 0.6 --out soft", folder)
                .exit_code, 0);
  ASSERT_EQ(run_hdiff("denoise --grammar g.json --tokens samples/tokens.npy --channel uniform --noise 0.6 --out same", folder)
                .exit_code, 0);
  for (int level = 0; level <= 3; ++level) {
    const std::string name = "/marginals_" + std::to_string(level) + ".npy";
    const auto soft = doubles(read_npy(folder / ("soft" + name)));
    EXPECT_EQ(soft, doubles(read_npy(folder / ("same" + name)))) << level;
    for (double value : soft) EXPECT_LT(value, 1.0) << "the evidence is soft at level " << level;
  }
}

// --precision double: the reference path, exactly 1 at ε = 0 (the float path is
// 1 only to about 1e-7), and the same arrays as the float path to its 1e-5.
TEST_F(CoreCommands, DenoisePrecisionDoubleIsExact) {
  ASSERT_EQ(
      run_hdiff("denoise --grammar g.json --tokens samples/tokens.npy --channel soft --noise 0 --precision double "
                "--out exact",
                folder)
          .exit_code,
      0);
  const auto classes = npy_to_u32(read_npy(folder / "samples/latents_0.npy"), "classes", 2);
  const auto certain = doubles(read_npy(folder / "exact/marginals_0.npy"));
  for (int n = 0; n < 7; ++n)
    EXPECT_NEAR(certain[static_cast<size_t>(n * 3 + classes[static_cast<size_t>(n)])], 1.0, 1e-15) << n;
  for (const char* precision : {"float", "double"})
    ASSERT_EQ(run_hdiff(std::string("denoise --grammar g.json --tokens samples/tokens.npy --noise 0.4 --precision ") +
                            precision + " --out " + precision,
                        folder)
                  .exit_code,
              0);
  for (int level = 0; level <= 3; ++level) {
    const std::string name = "/marginals_" + std::to_string(level) + ".npy";
    const auto single = doubles(read_npy(folder / ("float" + name))),
               exact = doubles(read_npy(folder / ("double" + name)));
    ASSERT_EQ(single.size(), exact.size());
    for (size_t k = 0; k < exact.size(); ++k)
      EXPECT_NEAR(single[k], exact[k], 1e-5 * exact[k] + 1e-30) << level << " " << k;
  }
  expect_failure("denoise --grammar g.json --out d --tokens samples/tokens.npy --noise 0.1 --precision half",
                 "unknown precision 'half'");
}

TEST_F(CoreCommands, BadGrammarRequestsFailCleanly) {
  expect_failure("grammar --v 1 --out x.json", "v = 1 is too small");
  expect_failure("grammar --v 3 --m 5 --classes 2 --out x.json", "exceed the v^s");
  expect_failure("grammar --out missing/x.json", "does not exist");
  expect_failure("grammar", "give --out G.json");
  expect_failure("grammar --show nothing.json", "cannot read grammar");
  expect_failure("grammar --v x --out x.json", "--v");
  std::ofstream(folder / "broken.json") << "{\"format\": \"hdiff-grammar\", ";
  expect_failure("grammar --show broken.json", "not valid JSON");
  std::ofstream(folder / "wrong.json") << "{\"format\": \"hdiff-grammar\", \"version\": 1}";
  expect_failure("grammar --show wrong.json", "missing key \"v\"");
}

TEST_F(CoreCommands, BadDenoiseInputsFailCleanly) {
  const std::string base = "denoise --grammar g.json --out d ";
  expect_failure(base + "--tokens samples/tokens.npy --noise 1.5", "outside [0, 1]");
  expect_failure(base + "--tokens samples/tokens.npy --noise nan", "not a number");
  expect_failure(base + "--tokens samples/tokens.npy --noise 0.1 --channel salt", "unknown noise channel");
  expect_failure(base + "--tokens samples/latents_2.npy --noise 0.1", "shape (7, 4) does not fit");
  expect_failure(base + "--tokens samples/tokens.npy --noise 0.1 --channel gaussian", "N × d × v");
  expect_failure(base + "--tokens none.npy --noise 0.1", "cannot read none.npy");
  expect_failure("denoise --grammar g.json --out missing/d --tokens samples/tokens.npy --noise 0.1", "does not exist");
  // Token out of range, float tokens, and an ungrammatical string seen without noise.
  const std::vector<uint8_t> high = {0, 1, 2, 3, 4, 5, 6, 0};
  write_npy(folder / "high.npy", DType::u8, {1, 8}, high.data());
  expect_failure(base + "--tokens high.npy --noise 0.1", "out of range");
  const std::vector<float> floats(8, 0.5f);
  write_npy(folder / "floats.npy", DType::f32, {1, 8}, floats.data());
  expect_failure(base + "--tokens floats.npy --noise 0.1", "not an integer type");
  const Grammar grammar = load_grammar(folder / "g.json");
  std::vector<uint8_t> bad(8, 0);
  for (uint32_t code = 0;; ++code) {
    std::vector<uint32_t> candidate(8);
    for (int i = 0; i < 8; ++i) candidate[static_cast<size_t>(i)] = (code >> i) % 6;
    if (!parse(grammar, candidate).valid) {
      std::copy(candidate.begin(), candidate.end(), bad.begin());
      break;
    }
  }
  write_npy(folder / "bad.npy", DType::u8, {1, 8}, bad.data());
  expect_failure(base + "--tokens bad.npy --noise 0 --posterior-samples 2", "observation 0: the observation has probability zero");
  expect_failure(base + "--tokens bad.npy --noise 0 --channel mask", "probability zero");
}

// The core executable holds no image command: `hdiff images` hands over to
// hdiff-torch beside it, and a copy of hdiff without it says how to get one.
TEST_F(CoreCommands, ImagesWithoutTheImageExecutableFailsCleanly) {
  const auto lone = folder / "bin";
  std::filesystem::create_directory(lone);
  std::filesystem::copy_file(HDIFF_BINARY, lone / "hdiff");
  const auto result = testing::run_binary(lone / "hdiff", "images --help");
  const std::string& err = result.err;
  EXPECT_EQ(result.exit_code, 2) << err;
  EXPECT_NE(err.find("hdiff-torch is missing"), std::string::npos) << err;
  EXPECT_NE(err.find("HDIFF_WITH_TORCH=ON"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST_F(CoreCommands, HelpListsTheImageCommands) {
  const auto result = run_hdiff("--help", folder);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("images"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("hdiff-torch"), std::string::npos) << result.out;
}

}  // namespace
}  // namespace hdiff
