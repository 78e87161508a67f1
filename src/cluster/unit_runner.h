#pragma once
// Runs the work units of one command across ranks, resumably: the engine that
// `hdiff phase`, `hdiff theory --threshold` and the image commands share.
//
// Every rank knows the list of units (their number and relative costs) and
// computes the units it owns (cluster::assign_units over the units not yet
// done); rank 0 receives every result, appends it to the journal in the run's
// staging folder (.NAME.unfinished beside the output folder NAME) and hands it
// to the command, which folds results into its output in unit order, whatever
// the order of arrival. So the output is the same for any number of ranks.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace hdiff {

// What a run is.
struct UnitRunPlan {
  std::string command;               // e.g. "hdiff phase", used in messages
  std::filesystem::path out;         // the output folder; the staging folder sits beside it
  std::string identity;              // what a journal must match to be resumed (config, seeds, version)
  std::vector<double> costs;         // one per unit: its relative cost, for the assignment to ranks
  bool resume = false;               // --resume: continue an unfinished run
  bool concurrent = false;           // run a rank's units side by side, one per thread (each then single-threaded)
};

// How the run went.
struct UnitRunOutcome {
  bool interrupted = false;          // Ctrl-C (one rank only): not every unit is done; the journal keeps them
  int64_t units_from_journal = 0;    // units done by an earlier, unfinished run
  int64_t units_computed_here = 0;   // units this rank computed
};

// The staging folder of output folder `out`: `.NAME.unfinished` beside it.
std::filesystem::path staging_folder(const std::filesystem::path& out);

// Before the output is opened (rank 0): with --resume (and without --force) there
// must be something to resume; a finished run's folder and no journal is an
// error that says so, rather than "holds the results of another run".
void check_something_to_resume(const std::filesystem::path& out, bool resume, bool force);

// On every rank: checks the staging folder (an unfinished run without --resume,
// or a damaged or foreign journal, is an error on every rank before any work),
// then runs the units this rank owns with `run_unit(unit)` (which returns the
// unit's result as bytes). On rank 0 `on_result(unit, bytes)` is called once for
// every unit: first those of the journal, then each new one as it arrives.
// Rank 0 returns when every unit is done (or Ctrl-C); the others when their units are sent.
UnitRunOutcome run_units(const UnitRunPlan& plan, const std::function<std::string(int64_t)>& run_unit,
                         const std::function<void(int64_t, const std::string&)>& on_result);

// Removes the staging folder once the output is committed (rank 0; others do nothing).
void finish_units(const UnitRunPlan& plan);

}  // namespace hdiff
