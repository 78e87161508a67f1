// `hdiff net train` and `hdiff net sweep`: a discrete diffusion model trained on RHM strings and
// measured against exact BP (docs/networks.md). Lives in hdiff-torch.

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "cli/commands.h"
#include "common/error.h"
#include "common/toml_input.h"
#include "cluster/cluster.h"
#include "nets/net_changes.h"
#include "nets/net_sweep.h"
#include "nets/trainer.h"

namespace hdiff::cli {
namespace {

struct NetTrainOptions {
  std::string config;
  std::string preset;
  std::string out = "hdiff-net";
  int threads = 1;
  int64_t steps = 0;
  bool resume = false;
  bool force = false;
};

void run_train(const NetTrainOptions& options) {
  nets::TrainJob job;
  if (!options.preset.empty()) {
    job.config_text = nets::find_net_preset(options.preset).config;
    job.config = nets::parse_net_config(job.config_text, "preset " + options.preset);
  } else if (!options.config.empty()) {
    job.config_text = read_toml_text(options.config, "config");
    job.config = nets::parse_net_config(job.config_text, options.config);
  } else {
    job.config_text = nets::kDefaultNetConfig;
    job.config = nets::parse_net_config(job.config_text, "default config");
  }
  if (options.threads < 0) fail("--threads {} must be 0 (every core) or a positive count", options.threads);
  if (options.steps < 0) fail("--steps {} must be a positive count", options.steps);
  if (options.steps > 0) job.config.steps = options.steps;  // a short run of any preset or config
  job.out = options.out;
  job.resume = options.resume;
  job.force = options.force;
  job.threads = options.threads;
  const nets::TrainOutcome outcome = nets::run_net_train(job);
  if (outcome.interrupted) {
    fmt::print(stderr,
               "hdiff: interrupted: training stopped at step {}; its checkpoint is kept in {}/checkpoints; the same "
               "command with --resume continues\n",
               outcome.step, job.out.string());
    std::fflush(stdout);
    std::exit(130);
  }
  fmt::print("{}", outcome.summary);
  fmt::print("trained steps {}..{} in {:.1f} s{} ({} threads, {} parameters), measured in {:.1f} s; wrote {}\n",
             outcome.first_step + 1, outcome.step, outcome.train_seconds,
             outcome.time_budget_hit ? " (the time budget ended it)" : "", outcome.threads, outcome.parameters,
             outcome.measure_seconds, job.out.string());
}

void add_train(CLI::App& net) {
  auto options = std::make_shared<NetTrainOptions>();
  auto* cmd = net.add_subcommand(
      "train",
      "Train a discrete diffusion model (masked or uniform; tree U-Net or transformer) on P strings of an RHM\n"
      "grammar, then measure it against exact BP (docs/networks.md). Writes DIR/model.safetensors,\n"
      "checkpoints/step-N.safetensors (log-spaced, with the Adam state), validity.csv, samples.csv,\n"
      "train_loss.csv, loss.csv, comparison.csv, figures and run.json. Without --config or --preset it runs\n"
      "the default (--print-default-config); a --config file overrides the default key by key. Ctrl-C keeps\n"
      "a checkpoint; --resume continues to the same weights as an uninterrupted run. Weights are\n"
      "byte-identical for the same config and --threads. With [data] source = \"kjv\" (--preset kjv) it\n"
      "trains on the King James Bible instead and writes bits.csv, the validation bits per character of every\n"
      "checkpoint (docs/text.md); `hdiff net changes` then measures its correlated changes.");
  auto* config_option = cmd->add_option("--config", options->config, "training config (TOML) over the default")
                            ->check(CLI::ExistingFile);
  cmd->add_option("--preset", options->preset, "run a named config instead (--list-presets, --print-preset NAME)")
      ->excludes(config_option);
  cmd->add_flag_callback("--list-presets", [] {
    fmt::print("{}", nets::net_preset_list());
    std::exit(0);
  }, "print the presets, one a line, and exit");
  cmd->add_option_function<std::string>("--print-preset", [](const std::string& name) {
    const auto& preset = nets::find_net_preset(name);
    fmt::print("{}", preset.config[0] ? preset.config : nets::kDefaultNetConfig);
    std::exit(0);
  }, "print the config of preset NAME (its keys over the default) and exit");
  cmd->add_flag_callback("--print-default-config", [] {
    fmt::print("{}", nets::kDefaultNetConfig);
    std::exit(0);
  }, "print the embedded default config and exit");
  cmd->add_option("--out", options->out, "output folder")->capture_default_str();
  cmd->add_option("--steps", options->steps,
                  "train this many steps instead of the config's train.steps (a short run; --resume with a larger "
                  "count extends a run)");
  cmd->add_option("--threads", options->threads,
                  "LibTorch threads (0: every core); weights are byte-identical for one thread count. One is the "
                  "default: the default network's steps are too small to gain from two (docs/networks.md)")
      ->capture_default_str();
  cmd->add_flag("--resume", options->resume, "continue the training run in --out from its last checkpoint");
  add_force_flag(*cmd, options->force);
  cmd->callback([options] { run_train(*options); });
}

struct NetSweepOptions {
  std::string config;
  std::string out = "hdiff-net-sweep";
  int threads = 1;
  bool resume = false;
  bool force = false;
};

void add_sweep(CLI::App& net) {
  auto options = std::make_shared<NetSweepOptions>();
  auto* cmd = net.add_subcommand(
      "sweep",
      "Sample complexity: one `hdiff net train` run per (P, seed) of [sweep] samples and seeds, into\n"
      "DIR/P<P>-seed<S>, then sweep_validity.csv, sweep_loss.csv, sweep_agreement.csv and figures against P,\n"
      "and the P from which each level is learned (docs/networks.md). The points are shared across MPI ranks\n"
      "and journalled: --resume continues an interrupted sweep, each unfinished point from its last checkpoint.");
  cmd->add_option("--config", options->config, "sweep config (TOML): [sweep] plus any training keys")
      ->check(CLI::ExistingFile);
  cmd->add_flag_callback("--print-default-config", [] {
    fmt::print("{}", nets::kDefaultNetSweepConfig);
    std::exit(0);
  }, "print the embedded default sweep config and exit");
  cmd->add_option("--out", options->out, "output folder")->capture_default_str();
  cmd->add_option("--threads", options->threads, "LibTorch threads (0: every core)")->capture_default_str();
  cmd->add_flag("--resume", options->resume, "continue the sweep in --out");
  add_force_flag(*cmd, options->force);
  cmd->callback([options] {
    nets::SweepJob job;
    job.config_text = options->config.empty() ? nets::kDefaultNetSweepConfig : read_toml_text(options->config, "config");
    job.config = nets::parse_net_sweep(job.config_text, options->config.empty() ? "default sweep config" : options->config);
    if (options->threads < 0) fail("--threads {} must be 0 (every core) or a positive count", options->threads);
    job.out = options->out;
    job.resume = options->resume;
    job.force = options->force;
    job.threads = options->threads;
    const nets::SweepOutcome outcome = nets::run_net_sweep(job);  // Ctrl-C: exits 130 there, finished points kept
    if (!cluster::is_root()) return;
    fmt::print("{}wrote {} points to {}\n", outcome.summary, outcome.points_done, job.out.string());
  });
}

void add_changes(CLI::App& net) {
  auto job = std::make_shared<nets::NetChangesJob>();
  job->out = "hdiff-net-changes";
  auto* cmd = net.add_subcommand(
      "changes",
      "Forward-backward on text with a model of `hdiff net train --preset kjv` (docs/text.md): validation\n"
      "sequences are masked at fraction t, the model unmasks one position at a time, several trajectories per\n"
      "sequence; per t the fraction of changed tokens, the susceptibility chi of the changes (sigma = +-1,\n"
      "summed to r = --window) with standard errors clustered by sequence, and C(r) against r. Writes\n"
      "OUT/changes.csv, correlations.csv, samples.txt, susceptibility.png, correlation.png and run.json.\n"
      "The network runs on one thread: the tables are byte-identical on every run.");
  cmd->add_option("--model", job->model, "the --out folder of `hdiff net train` on text (holds model.safetensors)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--out", job->out, "output folder")->capture_default_str();
  cmd->add_option("--noise", job->changes.noise, "masked fractions t, in [0, 1]")->capture_default_str();
  cmd->add_option("--sequences", job->sequences, "validation sequences, spread evenly over the validation books")
      ->capture_default_str();
  cmd->add_option("--trajectories", job->changes.trajectories, "trajectories per sequence (at least 2)")
      ->capture_default_str();
  cmd->add_option("--window", job->changes.window, "R of susceptibility_window (tokens)")->capture_default_str();
  cmd->add_option("--max-distance", job->changes.max_distance, "C(r) for r = 0..this (tokens)")->capture_default_str();
  cmd->add_option("--seed", job->changes.seed, "seed of the masks and the unmasking draws")->capture_default_str();
  cmd->add_option("--shown", job->shown, "sequences printed in samples.txt")->capture_default_str();
  add_force_flag(*cmd, job->force);
  cmd->callback([job] {
    const nets::NetChangesOutcome outcome = nets::run_net_changes(*job);
    fmt::print("{}measured in {:.1f} s; wrote {}\n", outcome.summary, outcome.seconds, job->out.string());
  });
}

}  // namespace

void add_net_command(CLI::App& app) {
  auto* net = app.add_subcommand("net", "Trained denoisers: on RHM data against exact BP (docs/networks.md), and on text (docs/text.md)");
  net->require_subcommand(1);
  add_train(*net);
  add_sweep(*net);
  add_changes(*net);
}

}  // namespace hdiff::cli
