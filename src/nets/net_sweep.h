#pragma once
// `hdiff net sweep` (docs/networks.md, "Sample complexity"): one `hdiff net
// train` run per (P, seed), then the per-level validity, the excess loss and
// the agreement gap against P, into DIR/sweep_*.csv with figures, and each
// point's own training folder as DIR/P<P>-seed<S>.
// Guarantees: the points are the work units of the cluster's unit runner
// (cluster/unit_job.h): shared across MPI ranks, journalled, resumable with
// --resume (an unfinished point continues from its last checkpoint, in the
// sweep's unfinished folder beside DIR), results the same for any number of
// ranks; Ctrl-C keeps every finished point. Plain C++: the training itself is
// nets/trainer.h.

#include <filesystem>
#include <string>

#include "nets/net_config.h"
#include "nets/trainer.h"

namespace hdiff::nets {

struct SweepJob {
  NetSweepConfig config;
  std::string config_text;
  std::filesystem::path out;
  bool resume = false;
  bool force = false;
  int threads = 1;
};

struct SweepOutcome {
  int64_t points_done = 0;
  bool interrupted = false;
  std::string summary;
};

SweepOutcome run_net_sweep(const SweepJob& job);

// "P<P>-seed<S>": the folder of one point.
std::string sweep_point_name(int64_t samples, uint64_t seed);

// A finished point's measures as a journal record, and back. decode_point
// checks every value against what a point of `config` can produce (fractions
// in [0, 1], one row per noise level and level, the step within the run):
// a damaged or forged record is an Error naming the fix.
std::string encode_point(const TrainOutcome& outcome);
TrainOutcome decode_point(const std::string& bytes, const NetConfig& config);

}  // namespace hdiff::nets
