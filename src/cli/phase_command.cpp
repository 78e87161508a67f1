// `hdiff phase`: the forward–backward phase-transition experiment.

#include <fmt/format.h>

#include <chrono>
#include <cstdio>

#include "cli/commands.h"
#include "common/error.h"
#include "common/output.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "experiment/phase.h"
#include "experiment/phase_report.h"

namespace hdiff::cli {
namespace {

struct PhaseOptions {
  std::string config;
  std::string out = "hdiff-phase";
  int threads = 0;
};

void run_phase_command(const PhaseOptions& options) {
  set_thread_count(options.threads);
  const PhaseConfig config = options.config.empty() ? parse_phase_config(kDefaultPhaseConfig, "default config")
                                                    : load_phase_config(options.config);
  OutputDir out(options.out);  // fails now, before any work, if --out is unwritable
  install_interrupt_handler();
  const auto start = std::chrono::steady_clock::now();
  const int64_t total = config.samples * config.trajectories * static_cast<int64_t>(config.grammar_seeds.size() * config.noise.size() *
                                                              config.depths.size());
  PhaseResults results;
  {
    ProgressBar progress(total, "hdiff phase");
    results = run_phase(config, [&](int64_t done) { progress.advance(done); });
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  out.write("results.csv", phase_csv(config, results));
  out.write("conditional.csv", conditional_csv(config, results));
  out.write("changes.csv", changes_csv(config, results));
  out.write("correlations.csv", correlations_csv(config, results));
  out.write("run.json", phase_run_record(config, results, wall, thread_count()).dump(2) + "\n");
  if (!results.interrupted) plot_phase(config, results, out);
  out.commit();
  fmt::print("{}", class_agreement_table(config, results));
  fmt::print("{}", susceptibility_summary(config, results));
  fmt::print("wrote {} rows to {}/results.csv in {:.1f} s\n", results.rows.size(), out.dir().string(), wall);
  if (results.interrupted) {
    fmt::print(stderr, "hdiff: interrupted: kept the {} completed rows in {}/results.csv\n", results.rows.size(),
               out.dir().string());
    std::fflush(stdout);
    std::exit(130);
  }
}

}  // namespace

void add_phase_command(CLI::App& app) {
  auto options = std::make_shared<PhaseOptions>();
  auto* command = app.add_subcommand(
      "phase",
      "Forward-backward experiment: noise RHM data, denoise it exactly, measure agreement at every level.\n"
      "Writes DIR/results.csv, conditional.csv, changes.csv, correlations.csv, run.json and figures\n"
      "(docs/phase.md); without --config runs the papers' grammar under uniform (resampling) noise.");
  command->add_option("--config", options->config,
                      "experiment config (TOML); default: the papers' grammar, uniform channel (see --print-default-config)")
      ->check(CLI::ExistingFile);
  command->add_option("--out", options->out, "output folder")->capture_default_str();
  command->add_option("--threads", options->threads, "threads (0 = all cores); results do not depend on it")
      ->capture_default_str();
  command->add_flag_callback("--print-default-config", [] {
    fmt::print("{}", kDefaultPhaseConfig);
    std::exit(0);
  }, "print the embedded default config and exit");
  command->callback([options] { run_phase_command(*options); });
}

}  // namespace hdiff::cli
