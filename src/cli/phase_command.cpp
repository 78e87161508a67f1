// `hdiff phase`: the forward–backward phase-transition experiment, over a grid
// of grammars, shared across MPI ranks and resumable (src/cluster).

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "cli/commands.h"
#include "cluster/cluster.h"
#include "cluster/unit_runner.h"
#include "common/error.h"
#include "common/output.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "common/version.h"
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

// Appends the rows of a CSV table (all lines but the header).
void append_rows(std::string& csv, const std::string& table) { csv += table.substr(table.find('\n') + 1); }

// The name of a grid point's figure folder.
std::string grammar_folder(const PhaseConfig& config) {
  return fmt::format("v{}_classes{}_m{}_s{}", config.v, config.n_classes, config.m, config.s);
}

void write_outputs(const std::vector<PhaseConfig>& grid, const std::vector<PhaseResults>& results, OutputDir& out,
                   double wall, const UnitRunOutcome& outcome) {
  using Table = std::string (*)(const PhaseConfig&, const PhaseResults&);
  for (const auto& [name, table] : {std::pair<const char*, Table>{"results.csv", phase_csv},
                                    {"conditional.csv", conditional_csv}, {"changes.csv", changes_csv},
                                    {"correlations.csv", correlations_csv}}) {
    std::string csv = table(grid[0], results[0]);
    for (size_t g = 1; g < grid.size(); ++g) append_rows(csv, table(grid[g], results[g]));
    out.write(name, csv);
  }
  const bool interrupted = results[0].interrupted;
  nlohmann::json record;
  if (grid.size() == 1) {
    record = phase_run_record(grid[0], results[0], wall, thread_count());
  } else {
    record = {{"hdiff_version", version()}, {"git_commit", git_commit()}, {"interrupted", interrupted},
              {"threads", thread_count()}, {"wall_seconds", wall}, {"grid", nlohmann::json::array()}};
    for (size_t g = 0; g < grid.size(); ++g) {
      auto point = phase_run_record(grid[g], results[g], wall, thread_count());
      record["grid"].push_back({{"folder", grammar_folder(grid[g])}, {"config", point["config"]}, {"rows", point["rows"]}});
    }
  }
  record["ranks"] = cluster::size();
  record["units_resumed"] = outcome.units_from_journal;
  // What rank 0 received from the other ranks (and broadcast): the run's traffic.
  record["bytes_communicated"] = cluster::bytes_communicated();
  out.write("run.json", record.dump(2) + "\n");
  if (interrupted) return;
  if (grid.size() == 1) {
    plot_phase(grid[0], results[0], out);
  } else {
    for (size_t g = 0; g < grid.size(); ++g) {
      const auto folder = out.staged(grammar_folder(grid[g]));
      std::filesystem::create_directories(folder);
      plot_phase(grid[g], results[g], folder);
    }
  }
}

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
    if (cluster::is_root()) check_something_to_resume(options.out, options.resume, options.force);
    if (cluster::is_root()) out.emplace(options.out, existing_policy(options.force), "hdiff phase");  // fails now, before any work
  });
  // Ctrl-C keeps what is finished in one process; under a launcher a signal ends the
  // rank as usual (the launcher ends the job), so a half-done unit can never be recorded.
  if (cluster::size() == 1) install_interrupt_handler();
  const auto start = std::chrono::steady_clock::now();
  const std::vector<PhaseUnit> units = phase_units(grid);
  UnitRunPlan plan{"hdiff phase", options.out, phase_run_identity(grid), {}, options.resume,
                   run_units_side_by_side(grid, units.size(), cluster::size(), thread_count())};
  int64_t total = 0;
  for (const auto& unit : units) {
    const PhaseConfig& config = grid[unit.grid_point];
    plan.costs.push_back(phase_unit_cost(config, unit));
    total += config.samples * config.trajectories;
  }
  PhaseCollector collector(grid, units);
  UnitRunOutcome outcome;
  {
    std::optional<ProgressBar> progress;
    if (cluster::is_root()) progress.emplace(total, "hdiff phase");
    outcome = run_units(
        plan,
        [&](int64_t index) {
          const PhaseUnit& unit = units[static_cast<size_t>(index)];
          const PhaseConfig& config = grid[unit.grid_point];
          return run_phase_unit_result(config, unit);
        },
        [&](int64_t index, const std::string& bytes) {
          const PhaseUnit& unit = units[static_cast<size_t>(index)];
          const PhaseConfig& config = grid[unit.grid_point];
          collector.add(index, decode_unit_measures(bytes, config, unit.L));
          progress->advance(config.samples * config.trajectories);
        });
  }
  if (!cluster::is_root()) return;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::vector<PhaseResults> results = collector.results(outcome.interrupted);
  write_outputs(grid, results, *out, wall, outcome);
  out->commit();
  if (!outcome.interrupted) finish_units(plan);
  size_t rows = 0;
  for (size_t g = 0; g < grid.size(); ++g) {
    fmt::print("{}", class_agreement_table(grid[g], results[g]));
    fmt::print("{}", class_crossing_summary(grid[g], results[g]));
    fmt::print("{}", susceptibility_summary(grid[g], results[g]));
    if (grid[g].report_theory && !outcome.interrupted)
      fmt::print("{}", critical_noise_summary(grid[g].v, grid[g].n_classes, grid[g].m, grid[g].s, grid[g].channel,
                                              grid[g].schedule));
    rows += results[g].rows.size();
  }
  fmt::print("wrote {} rows to {}/results.csv in {:.1f} s\n", rows, out->dir().string(), wall);
  if (outcome.interrupted) {
    fmt::print(stderr, "hdiff: interrupted: kept the {} completed rows in {}/results.csv; the same command with --resume "
                       "continues the run\n", rows, out->dir().string());
    std::fflush(stdout);
    out.reset();  // std::exit skips destructors: the staging folder and the lock go now
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
      "(docs/phase.md). Without --config or --preset it runs the preset pnas2025-rhm-soft: the papers'\n"
      "grammar under their epsilon-process (channel soft), and prints where the class curves of\n"
      "different L cross beside the theories' epsilon* (0.731). --list-presets names the others.\n"
      "v, classes, m and s may be lists (a grid of grammars). Under mpirun/srun the units are shared\n"
      "across ranks (docs/cluster.md); a killed run continues with --resume. Progress goes to stderr:\n"
      "a bar on a terminal, else a line per tenth of the work and at least every HDIFF_PROGRESS_SECONDS\n"
      "(default 30) after the first 2 s. Threads wait passively unless OMP_WAIT_POLICY is set.");
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
