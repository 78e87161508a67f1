#pragma once
// One command's work units from the opened output folder to the committed
// results: the sequence `hdiff phase` and `hdiff theory --threshold` share, so
// that a command states only what a unit is, how its result folds in and what
// it writes.
//
// Guarantees (docs/cluster.md, docs/security.md "Output folders"):
// - The output folder is checked and locked on rank 0 before any work
//   (open_unit_output), with the semantics of OutputDir and --resume/--force.
// - Every unit runs once across the ranks (run_units): rank 0 journals each
//   result, folds it in unit order and shows the progress; the outputs are the
//   same for any number of ranks and threads.
// - Rank 0 writes the outputs into the staging folder, commits them in one step,
//   and only then removes the journal: a failed write keeps the journal, so
//   --resume finishes once the cause is fixed.
// - Ctrl-C (one process, where the job asks for it) stops between units; what is
//   finished is written and committed, the journal kept, the staging folder and
//   the lock removed, and the process exits with 130.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cluster/unit_runner.h"
#include "common/output.h"

namespace hdiff {

// What a command gives the engine.
struct UnitJob {
  UnitRunPlan plan;
  // Rank 0's progress bar: each unit's share of the work (empty: no bar), and its label.
  std::vector<int64_t> progress;
  std::string progress_label;
  // One process only: Ctrl-C stops between units, and the finished ones are
  // committed (exit 130). Without it Ctrl-C ends the process at once, and the
  // journal keeps the finished units for --resume.
  bool commit_finished_on_ctrl_c = false;
  // Every rank: computes unit `index`, its result as bytes.
  std::function<std::string(int64_t index)> run_unit;
  // Rank 0: folds the result of unit `index` in (first those of the journal, then each as it arrives).
  std::function<void(int64_t index, const std::string& bytes)> take_result;
  // Rank 0, once every unit is done (or Ctrl-C): writes the outputs into `out`'s staging folder.
  std::function<void(OutputDir& out, const UnitRunOutcome& outcome)> write;
  // Rank 0, after the commit: prints the summary (and, when interrupted, what was kept).
  std::function<void(const OutputDir& out, const UnitRunOutcome& outcome)> report;
};

// On rank 0, opens `output`: the checked and locked output folder `out` of
// `command` (with --resume there must be something to resume; without --force
// an output that holds results is refused); on the other ranks nothing. Call it
// inside the command's cluster::agree, so that an error stops every rank before any work.
void open_unit_output(std::optional<OutputDir>& output, const std::filesystem::path& out, bool resume, bool force,
                      const std::string& command);

// Runs `job` on every rank; `out` is open_unit_output's result. Rank 0 returns
// after the commit and the report (or exits with 130 after Ctrl-C, having
// released `out`); the others once their units are sent.
UnitRunOutcome run_unit_job(const UnitJob& job, std::optional<OutputDir>& out);

}  // namespace hdiff
