// `hdiff net train` on text (data.source = "kjv") and `hdiff net changes`
// through the CLI on a tiny transformer: contract files, determinism, resume,
// refusals. Needs the installed KJV (bible-kjv-text).

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli_support.h"
#include "support/helpers.h"

namespace fs = std::filesystem;
using hdiff::testing::expect_refused;
using hdiff::testing::fresh_folder;
using hdiff::testing::read_text;
using hdiff::testing::run_hdiff;

namespace {

bool have_kjv() { return fs::exists("/usr/lib/bible.data"); }

// A text model of a few seconds: sequences of 16 characters, width 16 (the
// preset's U-Net, or a one-layer transformer).
std::string tiny_text_config(int steps, const std::string& architecture = "unet") {
  return "[data]\nsource = \"kjv\"\n[text]\nlength = 16\n[model]\narchitecture = \"" + architecture +
         "\"\nwidth = 16\nblocks = 1\nlayers = 1\nheads = 2\n[train]\nsteps = " + std::to_string(steps) +
         "\nbatch = 8\ncheckpoints = 3\nlearning_rate = 0.003\n[measure]\nloss_samples = 8\n";
}

void write_file(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> fields_of(const std::string& line) {
  std::vector<std::string> fields;
  std::istringstream in(line);
  for (std::string field; std::getline(in, field, ',');) fields.push_back(field);
  if (!line.empty() && line.back() == ',') fields.emplace_back();
  return fields;
}

}  // namespace

TEST(NetTextCli, ListsTheKjvPresetAndRefusesBadTextConfigs) {
  const auto folder = fresh_folder("net_text_presets");
  const auto list = run_hdiff("net train --list-presets", folder);
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find("kjv "), std::string::npos) << list.out;
  write_file(folder / "unet.toml", "[data]\nsource = \"kjv\"\n[text]\nlength = 100\n[model]\narchitecture = \"unet\"\n");
  expect_refused(folder, "net train --config unet.toml --out x", {"unet.toml", "power of two"});
  write_file(folder / "uniform.toml",
             "[data]\nsource = \"kjv\"\n[model]\narchitecture = \"transformer\"\n[process]\nkind = \"uniform\"\n");
  expect_refused(folder, "net train --config uniform.toml --out x", {"uniform.toml", "mask"});
  write_file(folder / "path.toml", "[data]\nsource = \"kjv\"\n[model]\narchitecture = \"transformer\"\n[text]\n"
                                   "path = \"missing.data\"\n");
  expect_refused(folder, "net train --config path.toml --out x", {"missing.data"});
}

TEST(NetTextCli, TrainsWithFallingBitsSameSeedSameBytesAndResumes) {
  if (!have_kjv()) GTEST_SKIP() << "bible-kjv-text is not installed";
  const auto folder = fresh_folder("net_text_train");
  write_file(folder / "c.toml", tiny_text_config(40));
  const auto a = run_hdiff("net train --config c.toml --out a --threads 1", folder);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  for (const char* name : {"model.safetensors", "bits.csv", "bits.png", "run.json"})
    EXPECT_TRUE(fs::exists(folder / "a" / name)) << name;
  const auto bits = lines_of(read_text(folder / "a" / "bits.csv"));
  ASSERT_EQ(bits.front(), "step,split,bits_per_token,bits_per_token_se");
  // Checkpoints 1, 6, 40: validation bits fall from the first to the last (log2 37 = 5.2 untrained).
  std::map<int, double> validation;
  for (size_t k = 1; k < bits.size(); ++k) {
    const auto f = fields_of(bits[k]);
    ASSERT_EQ(f.size(), 4u) << bits[k];
    if (f[1] == "validation") validation[std::stoi(f[0])] = std::stod(f[2]);
  }
  ASSERT_EQ(validation.size(), 3u);
  EXPECT_LT(validation.rbegin()->second, validation.begin()->second - 0.3);
  EXPECT_GT(validation.begin()->second, 4.0);
  // The same config and threads: the same bytes.
  ASSERT_EQ(run_hdiff("net train --config c.toml --out b --threads 1", folder).exit_code, 0);
  EXPECT_EQ(read_text(folder / "a" / "model.safetensors"), read_text(folder / "b" / "model.safetensors"));
  EXPECT_EQ(read_text(folder / "a" / "bits.csv"), read_text(folder / "b" / "bits.csv"));
  // 20 steps (--steps bounds a short run), then --resume to 40: the bytes of 40 straight steps;
  // for the transformer too.
  write_file(folder / "t.toml", tiny_text_config(40, "transformer"));
  for (const char* config : {"c", "t"}) {
    const std::string name = config;
    if (name == "t") ASSERT_EQ(run_hdiff("net train --config t.toml --out a-t --threads 1", folder).exit_code, 0);
    const auto half = run_hdiff("net train --config " + name + ".toml --steps 20 --out r-" + name + " --threads 1", folder);
    ASSERT_EQ(half.exit_code, 0) << half.err;
    const auto resumed = run_hdiff("net train --config " + name + ".toml --out r-" + name + " --threads 1 --resume", folder);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_NE(resumed.out.find("trained steps 21..40"), std::string::npos) << resumed.out;
    EXPECT_EQ(read_text(folder / (name == "c" ? "a" : "a-t") / "model.safetensors"),
              read_text(folder / ("r-" + name) / "model.safetensors")) << name;
  }
}

TEST(NetTextCli, ChangesWritesItsColumnsConsistentlyAndTheSameBytesTwice) {
  if (!have_kjv()) GTEST_SKIP() << "bible-kjv-text is not installed";
  const auto folder = fresh_folder("net_text_changes");
  write_file(folder / "c.toml", tiny_text_config(10));
  ASSERT_EQ(run_hdiff("net train --config c.toml --out model --threads 1", folder).exit_code, 0);
  const std::string command =
      "net changes --model model --sequences 6 --trajectories 3 --noise 0 0.5 1 --window 3 --max-distance 5 --out ";
  const auto a = run_hdiff(command + "a", folder);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  for (const char* name : {"changes.csv", "correlations.csv", "samples.txt", "susceptibility.png", "correlation.png",
                           "run.json"})
    EXPECT_TRUE(fs::exists(folder / "a" / name)) << name;
  const auto changes = lines_of(read_text(folder / "a" / "changes.csv"));
  ASSERT_EQ(changes.size(), 4u);
  EXPECT_EQ(changes[0].rfind("noise,changed_fraction,susceptibility,susceptibility_se,sequences,trajectories,"
                             "susceptibility_raw,susceptibility_raw_se,susceptibility_window,susceptibility_window_se,"
                             "window", 0), 0u) << changes[0];
  const auto zero = fields_of(changes[1]);
  EXPECT_EQ(zero[0], "0");
  EXPECT_EQ(zero[1], "0");   // nothing masked, nothing changed
  EXPECT_EQ(zero[2], "");    // χ undefined: no change varies
  EXPECT_EQ(zero[4], "6");
  EXPECT_EQ(zero[5], "3");
  // At t = 0.5: the windowed χ is C(0) + 2·(C(1) + C(2) + C(3)) of correlations.csv.
  const auto half = fields_of(changes[2]);
  std::vector<double> c;
  for (const auto& line : lines_of(read_text(folder / "a" / "correlations.csv"))) {
    const auto f = fields_of(line);
    if (f[0] == "0.5") c.push_back(std::stod(f[2]));
  }
  ASSERT_EQ(c.size(), 6u);
  const double window = std::stod(half[8]);
  EXPECT_NEAR(window, c[0] + 2 * (c[1] + c[2] + c[3]), 1e-4 * (std::abs(window) + 1));
  EXPECT_GT(std::stod(half[1]), 0.0);
  EXPECT_LT(std::stod(half[1]), 0.75);  // only masked positions can change
  // Deterministic: the same command, the same tables.
  ASSERT_EQ(run_hdiff(command + "b", folder).exit_code, 0);
  EXPECT_EQ(read_text(folder / "a" / "changes.csv"), read_text(folder / "b" / "changes.csv"));
  EXPECT_EQ(read_text(folder / "a" / "correlations.csv"), read_text(folder / "b" / "correlations.csv"));
  EXPECT_EQ(read_text(folder / "a" / "samples.txt"), read_text(folder / "b" / "samples.txt"));
  // Refusals, one line each.
  expect_refused(folder, "net changes --model model --trajectories 1 --out x", {"trajectories"});
  expect_refused(folder, "net changes --model c.toml --out x", {"c.toml"});
  fs::create_directories(folder / "empty");
  expect_refused(folder, "net changes --model empty --out x", {"model.safetensors"});
  // A model of RHM strings is not a text model.
  write_file(folder / "rhm.toml", "[grammar]\nv = 4\nclasses = 4\nm = 2\ns = 2\nL = 2\n[data]\nsamples = 32\n"
                                  "test_samples = 16\n[model]\nwidth = 8\n[train]\nsteps = 2\nbatch = 4\n"
                                  "checkpoints = 1\n[measure]\nnoise = [0.5]\nloss_samples = 4\nsamples = 4\n"
                                  "generated = 4\n");
  const auto rhm = run_hdiff("net train --config rhm.toml --out rhm --threads 1", folder);
  ASSERT_EQ(rhm.exit_code, 0) << rhm.err;
  expect_refused(folder, "net changes --model rhm --out x", {"RHM strings"});
}
