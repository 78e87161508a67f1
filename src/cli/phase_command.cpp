// `hdiff phase`: the forward–backward phase-transition experiment, over a grid
// of grammars, shared across MPI ranks and resumable (src/cluster).

#include <fmt/format.h>

#include <chrono>
#include <optional>

#include "cli/commands.h"
#include "cluster/cluster.h"
#include "cluster/unit_job.h"
#include "common/output.h"
#include "common/parallel.h"
#include "experiment/phase.h"
#include "experiment/phase_presets.h"
#include "experiment/phase_report.h"
#include "experiment/phase_units.h"
#include "theory/critical_noise_summary.h"

namespace hdiff::cli {
namespace {

struct PhaseOptions {
  std::string config;
  std::string preset;
  std::string out = "hdiff-phase";
  int threads = 0;
  bool resume = false;
  bool force = false;
};

void run_phase_command(const PhaseOptions& options) {
  set_thread_count(options.threads);
  std::vector<PhaseConfig> grid;
  std::optional<OutputDir> out;
  // Every rank reads the config; rank 0 alone writes, so it alone checks --out.
  cluster::agree([&] {
    if (!options.preset.empty())
      grid = parse_phase_grid(find_phase_preset(options.preset).config, "preset " + options.preset);
    else if (!options.config.empty())
      grid = load_phase_grid(options.config);
    else
      grid = {parse_phase_config(kDefaultPhaseConfig, "default config")};
    open_unit_output(out, options.out, options.resume, options.force, "hdiff phase");  // fails now, before any work
  });
  const auto start = std::chrono::steady_clock::now();
  const std::vector<PhaseUnit> units = phase_units(grid);
  UnitJob job;
  job.plan = {"hdiff phase", options.out, phase_run_identity(grid), {}, options.resume,
              run_units_side_by_side(grid, units.size(), cluster::size(), thread_count())};
  for (const auto& unit : units) {
    const PhaseConfig& config = grid[unit.grid_point];
    job.plan.costs.push_back(phase_unit_cost(config, unit));
    job.progress.push_back(config.samples * config.trajectories);
  }
  job.progress_label = "hdiff phase";
  job.commit_finished_on_ctrl_c = true;
  PhaseCollector collector(grid, units);
  std::vector<PhaseResults> results;
  double wall = 0;
  job.run_unit = [&](int64_t index) {
    const PhaseUnit& unit = units[static_cast<size_t>(index)];
    return run_phase_unit_result(grid[unit.grid_point], unit);
  };
  job.take_result = [&](int64_t index, const std::string& bytes) {
    const PhaseUnit& unit = units[static_cast<size_t>(index)];
    collector.add(index, decode_unit_measures(bytes, grid[unit.grid_point], unit.L));
  };
  job.write = [&](OutputDir& dir, const UnitRunOutcome& outcome) {
    wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    results = collector.results(outcome.interrupted);
    write_phase_outputs(grid, results,
                        {wall, thread_count(), cluster::size(), outcome.units_from_journal, cluster::bytes_communicated()},
                        dir);
  };
  job.report = [&](const OutputDir& dir, const UnitRunOutcome& outcome) {
    size_t rows = 0;
    for (size_t g = 0; g < grid.size(); ++g) {
      if (grid[g].kind == DataKind::markov) {
        fmt::print("markov control (no hierarchy, no class): token-level rows only\n");
      } else {
        fmt::print("{}", class_agreement_table(grid[g], results[g]));
        fmt::print("{}", class_crossing_summary(grid[g], results[g]));
      }
      fmt::print("{}", susceptibility_summary(grid[g], results[g]));
      if (grid[g].report_theory && !outcome.interrupted)
        fmt::print("{}", critical_noise_summary(grid[g].v, grid[g].n_classes, grid[g].m, grid[g].s, grid[g].channel,
                                                grid[g].schedule));
      rows += results[g].rows.size();
    }
    fmt::print("wrote {} rows to {}/results.csv in {:.1f} s\n", rows, dir.dir().string(), wall);
    if (outcome.interrupted)
      fmt::print(stderr, "hdiff: interrupted: kept the {} completed rows in {}/results.csv; the same command with "
                         "--resume continues the run\n", rows, dir.dir().string());
  };
  // Ctrl-C keeps what is finished in one process (the engine exits with 130 after the report).
  run_unit_job(job, out);
}

}  // namespace

void add_phase_command(CLI::App& app) {
  auto options = std::make_shared<PhaseOptions>();
  auto* command = app.add_subcommand(
      "phase",
      "Forward-backward experiment: noise RHM data, denoise it exactly, measure agreement at every level.\n"
      "Writes DIR/results.csv, conditional.csv, changes.csv (chi normalised, raw and windowed),\n"
      "correlations.csv, information.csv (entropy, mutual information, Bayes cross-entropy and the\n"
      "probability that two posterior draws agree, per level), run.json and figures (docs/phase.md).\n"
      "[run] precision = \"double\" in the config takes the exact double BP path (default \"float\").\n"
      "Without --config or --preset it runs the preset pnas2025-rhm-soft: the papers'\n"
      "grammar under their epsilon-process (channel soft), and prints where the class curves of\n"
      "different L cross beside the theories' epsilon* (0.731). --list-presets names the others.\n"
      "v, classes, m and s may be lists (a grid of grammars). Under mpirun/srun the units are shared\n"
      "across ranks (docs/cluster.md); a killed run continues with --resume. Progress goes to stderr:\n"
      "a bar on a terminal, else a line per tenth of the work and at least every HDIFF_PROGRESS_SECONDS\n"
      "(default 30) after the first 2 s. Threads wait passively unless OMP_WAIT_POLICY is set.\n"
      "[grammar] kind = \"markov\" runs the non-hierarchical control instead of the RHM: a Markov chain\n"
      "matched to each grammar's adjacent-token statistics, denoised by exact forward-backward; its\n"
      "rows are the token level only (docs/phase.md, \"The control\").");
  auto* config_option = command->add_option("--config", options->config,
                      "experiment config (TOML); default: the preset pnas2025-rhm-soft (see --print-default-config)")
      ->check(CLI::ExistingFile);
  command->add_option("--preset", options->preset, "run a named config instead (--list-presets, --print-preset NAME)")
      ->excludes(config_option);
  command->add_flag_callback("--list-presets", [] {
    if (cluster::is_root()) fmt::print("{}", phase_preset_list());
    std::exit(0);
  }, "print the presets, one a line (name, then what it reproduces), and exit");
  command->add_option_function<std::string>("--print-preset", [](const std::string& name) {
    const std::string text = find_phase_preset(name).config;  // an unknown name is an error listing the names
    if (cluster::is_root()) fmt::print("{}", text);
    std::exit(0);
  }, "print the config of preset NAME (a valid --config file) and exit");
  command->add_option("--out", options->out, "output folder")->capture_default_str();
  command->add_option("--threads", options->threads, "threads (0 = all cores); results do not depend on it")
      ->capture_default_str();
  command->add_flag("--resume", options->resume,
                    "continue the unfinished run of the same command in --out (its journal in .NAME.unfinished)");
  add_force_flag(*command, options->force);
  command->add_flag_callback("--print-default-config", [] {
    if (cluster::is_root()) fmt::print("{}", kDefaultPhaseConfig);
    std::exit(0);
  }, "print the embedded default config and exit");
  command->callback([options] { run_phase_command(*options); });
}

}  // namespace hdiff::cli
