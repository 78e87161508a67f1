#pragma once
// `hdiff net sweep` (docs/networks.md, "Sample complexity"): one `hdiff net
// train` run per (P, seed) into DIR/P<P>-seed<S>, then the per-level validity,
// the excess loss and the agreement gap against P. Resumable: `resume`
// continues every point from its last checkpoint (a finished point is only
// measured again). Plain C++: the training itself is nets/trainer.h.

#include <filesystem>
#include <string>

#include "nets/net_config.h"

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

}  // namespace hdiff::nets
