// `hdiff net train` through the CLI on a tiny grammar and network: the
// contract files, determinism, resume, refusals, NaN, Ctrl-C.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/cli_support.h"
#include "image/checkpoint/checkpoint.h"
#include "support/helpers.h"

namespace fs = std::filesystem;
using hdiff::testing::expect_refused;
using hdiff::testing::fresh_folder;
using hdiff::testing::read_text;
using hdiff::testing::run_hdiff;

namespace {

// A config of a few seconds.
std::string tiny_config(int steps, const std::string& model = "architecture = \"unet\"", const std::string& grammar_seed = "3",
                        const std::string& process = "kind = \"mask\"", const std::string& lr = "0.003") {
  return "[grammar]\nv = 4\nclasses = 4\nm = 2\ns = 2\nL = 2\nseed = " + grammar_seed +
         "\n[data]\nsamples = 64\ntest_samples = 32\n[process]\n" + process + "\n[model]\n" + model +
         "\nwidth = 16\nblocks = 1\nlayers = 1\nheads = 2\n[train]\nsteps = " + std::to_string(steps) +
         "\nbatch = 16\ncheckpoints = 4\nlearning_rate = " + lr +
         "\n[measure]\nnoise = [0.3, 0.7]\nloss_samples = 16\nsamples = 16\ntrajectories = 1\ngenerated = 32\n";
}

fs::path write_config(const fs::path& folder, const std::string& name, const std::string& text) {
  std::ofstream(folder / name) << text;
  return folder / name;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

TEST(NetTrainCli, WritesTheContractFilesAndSameSeedGivesSameBytes) {
  const auto folder = fresh_folder("net_train_contract");
  write_config(folder, "c.toml", tiny_config(30));
  const auto a = run_hdiff("net train --config c.toml --out a --threads 1", folder);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  for (const char* name : {"model.safetensors", "validity.csv", "samples.csv", "loss.csv", "train_loss.csv",
                           "comparison.csv", "run.json", "validity.png", "loss.png", "agreement.png"})
    EXPECT_TRUE(fs::exists(folder / "a" / name)) << name;
  EXPECT_EQ(first_line(read_text(folder / "a" / "validity.csv")), "step,level,validity");
  EXPECT_NE(first_line(read_text(folder / "a" / "loss.csv")).find("noise,noised_tokens,loss_net,loss_net_se,loss_bayes,loss_bayes_se"),
            std::string::npos);
  const std::string comparison = first_line(read_text(folder / "a" / "comparison.csv"));
  for (const char* column : {"noise", "level", "agreement_net", "agreement_bp"})
    EXPECT_NE(comparison.find(column), std::string::npos) << column;
  // validity.csv: every checkpoint (1, 3, 10, 30), levels 0 .. L−1.
  EXPECT_NE(read_text(folder / "a" / "validity.csv").find("\n30,1,"), std::string::npos);
  EXPECT_TRUE(fs::exists(folder / "a" / "checkpoints" / "step-0000003.safetensors"));
  // The final weights load through hdiff's own reader.
  EXPECT_FALSE(hdiff::ckpt::read_tensors(folder / "a" / "model.safetensors").empty());
  const auto b = run_hdiff("net train --config c.toml --out b --threads 1", folder);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(read_text(folder / "a" / "model.safetensors"), read_text(folder / "b" / "model.safetensors"));
  EXPECT_EQ(read_text(folder / "a" / "validity.csv"), read_text(folder / "b" / "validity.csv"));
}

TEST(NetTrainCli, ResumeReachesTheWeightsOfAnUninterruptedRun) {
  for (const char* model : {"architecture = \"unet\"", "architecture = \"transformer\""}) {
    const auto folder = fresh_folder(std::string("net_train_resume_") + model[16]);
    write_config(folder, "half.toml", tiny_config(12, model));
    write_config(folder, "full.toml", tiny_config(24, model));
    ASSERT_EQ(run_hdiff("net train --config full.toml --out straight --threads 1", folder).exit_code, 0);
    ASSERT_EQ(run_hdiff("net train --config half.toml --out resumed --threads 1", folder).exit_code, 0);
    const auto resumed = run_hdiff("net train --config full.toml --out resumed --threads 1 --resume", folder);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_NE(resumed.out.find("trained steps 13..24"), std::string::npos) << resumed.out;
    EXPECT_EQ(read_text(folder / "straight" / "model.safetensors"), read_text(folder / "resumed" / "model.safetensors"))
        << model;
  }
}

TEST(NetTrainCli, RefusesACheckpointOfAnotherGrammarArchitectureProcessOrADamagedOne) {
  const auto folder = fresh_folder("net_train_refusals");
  write_config(folder, "c.toml", tiny_config(8));
  ASSERT_EQ(run_hdiff("net train --config c.toml --out run --threads 1", folder).exit_code, 0);
  write_config(folder, "grammar.toml", tiny_config(16, "architecture = \"unet\"", "4"));
  write_config(folder, "arch.toml", tiny_config(16, "architecture = \"transformer\""));
  write_config(folder, "process.toml", tiny_config(16, "architecture = \"unet\"", "3", "kind = \"uniform\"\nsteps = 20"));
  const auto before = read_text(folder / "run" / "model.safetensors");
  expect_refused(folder, "net train --config grammar.toml --out run --resume", {"another grammar", "step-"});
  expect_refused(folder, "net train --config arch.toml --out run --resume", {"another architecture"});
  expect_refused(folder, "net train --config process.toml --out run --resume", {"another process"});
  EXPECT_EQ(read_text(folder / "run" / "model.safetensors"), before);
  // Without --resume a folder holding checkpoints is refused, naming both ways on.
  expect_refused(folder, "net train --config c.toml --out run", {"--resume", "--force"});
  // A damaged checkpoint: cut short.
  const fs::path last = folder / "run" / "checkpoints" / "step-0000008.safetensors";
  const std::string bytes = read_text(last);
  std::ofstream(last, std::ios::binary) << bytes.substr(0, bytes.size() - 10);
  expect_refused(folder, "net train --config c.toml --out run --resume", {"step-0000008.safetensors"});
}

TEST(NetTrainCli, ANanLossStopsWithOneLineAndKeepsTheLastGoodCheckpoint) {
  const auto folder = fresh_folder("net_train_nan");
  write_config(folder, "c.toml", tiny_config(30, "architecture = \"unet\"", "3", "kind = \"mask\"", "1e30"));
  const auto result = run_hdiff("net train --config c.toml --out run --threads 1", folder);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_NE(result.err.find("hdiff: error: the "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("became NaN at step"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("the last good checkpoint is"), std::string::npos) << result.err;
  EXPECT_FALSE(fs::exists(folder / "run" / "model.safetensors"));
  // The checkpoint it names is there and loads.
  const auto named = result.err.find("checkpoints/step-");
  ASSERT_NE(named, std::string::npos) << result.err;
  const auto begin = result.err.rfind(' ', named) + 1;
  const std::string path = result.err.substr(begin, result.err.find(';', named) - begin);
  EXPECT_FALSE(hdiff::ckpt::read_tensors(folder / path).empty()) << path;
}

TEST(NetTrainCli, ConfigErrorsAreOneLine) {
  const auto folder = fresh_folder("net_train_config");
  write_config(folder, "bad.toml", "[model]\nwidht = 3\n");
  expect_refused(folder, "net train --config bad.toml --out run", {"bad.toml:2", "model.widht"});
  write_config(folder, "range.toml", "[train]\nbatch = 0\n");
  expect_refused(folder, "net train --config range.toml --out run", {"train.batch"});
  expect_refused(folder, "net train --preset nope --out run", {"unknown preset 'nope'"});
  const auto printed = run_hdiff("net train --print-default-config", folder);
  EXPECT_EQ(printed.exit_code, 0);
  EXPECT_NE(printed.out.find("[grammar]"), std::string::npos);
  EXPECT_NE(run_hdiff("net train --list-presets", folder).out.find("pnas2025"), std::string::npos);
}

TEST(NetTrainCli, CtrlCKeepsACheckpointAndWritesNoResults) {
  const auto folder = fresh_folder("net_train_interrupt");
  write_config(folder, "c.toml", tiny_config(200000));
  // SIGINT after 8 s, as Ctrl-C sends it (timeout passes on hdiff's exit status).
  hdiff::testing::RunOptions options;
  options.prefix = "timeout --preserve-status -s INT 8 ";
  const auto result = run_hdiff("net train --config c.toml --out run --threads 1", folder, options);
  EXPECT_EQ(result.exit_code, 130) << result.err;
  EXPECT_NE(result.err.find("--resume"), std::string::npos) << result.err;
  bool any = false;
  for (const auto& entry : fs::directory_iterator(folder / "run" / "checkpoints"))
    any = any || entry.path().extension() == ".safetensors";
  EXPECT_TRUE(any);
  EXPECT_FALSE(fs::exists(folder / "run" / "model.safetensors"));
}

TEST(NetTrainCli, ATimeBudgetStopsEarlyAndIsRecorded) {
  const auto folder = fresh_folder("net_train_budget");
  std::string text = tiny_config(1000000);
  text.insert(text.find("batch = 16"), "time_budget_seconds = 0.5\n");
  write_config(folder, "c.toml", text);
  const auto result = run_hdiff("net train --config c.toml --out run --threads 1", folder);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("the time budget ended it"), std::string::npos) << result.out;
  const std::string record = read_text(folder / "run" / "run.json");
  EXPECT_NE(record.find("\"time_budget_hit\": true"), std::string::npos) << record;
  // --force starts again: the old checkpoints go, the new run's come.
  write_config(folder, "short.toml", tiny_config(5));
  ASSERT_EQ(run_hdiff("net train --config short.toml --out run --threads 1 --force", folder).exit_code, 0);
  int checkpoints = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(folder / "run" / "checkpoints")) ++checkpoints;
  EXPECT_EQ(checkpoints, 4);  // 1, 2, 3 (rounded log spacing) and 5
}

TEST(NetSweepCli, TrainsOnePointPerSamplesAndSeedAndResumes) {
  const auto folder = fresh_folder("net_sweep");
  write_config(folder, "s.toml", tiny_config(10) + "[sweep]\nsamples = [16, 64]\nseeds = [0, 1]\n");
  const auto first = run_hdiff("net sweep --config s.toml --out sweep", folder);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("level 0 valid at"), std::string::npos) << first.out;
  for (const char* point : {"P16-seed0", "P16-seed1", "P64-seed0", "P64-seed1"})
    EXPECT_TRUE(fs::exists(folder / "sweep" / point / "model.safetensors")) << point;
  const std::string validity = read_text(folder / "sweep" / "sweep_validity.csv");
  EXPECT_EQ(first_line(validity), "samples,seed,step,level,validity,valid,copied,valid_new");
  EXPECT_NE(validity.find("\n64,1,10,1,"), std::string::npos) << validity;
  EXPECT_TRUE(fs::exists(folder / "sweep" / "sweep_validity.png"));
  // A second run without --resume is refused; with it, the same tables (every point is finished).
  expect_refused(folder, "net sweep --config s.toml --out sweep", {"--resume"});
  ASSERT_EQ(run_hdiff("net sweep --config s.toml --out sweep --resume", folder).exit_code, 0);
  EXPECT_EQ(read_text(folder / "sweep" / "sweep_validity.csv"), validity);
  // A point's seed sets both the data and the training seed.
  EXPECT_NE(read_text(folder / "sweep" / "P16-seed0" / "model.safetensors"),
            read_text(folder / "sweep" / "P16-seed1" / "model.safetensors"));
}
