#pragma once
// One unit of the phase experiment on the non-hierarchical control
// (`[grammar] kind = "markov"`, docs/phase.md): the chain matched to the RHM
// grammar of the unit's seed, sequences of d = s^L tokens, noised by the
// config's channel and denoised by exact forward–backward posterior sampling.
// Guarantees as run_phase_unit's: deterministic for any thread count, the same
// clean sample n at every noise point, the same random-stream layout.

#include <cstdint>

#include "experiment/phase.h"

namespace hdiff {

// The unit's measures in run_phase_unit's layout, so that the phase machinery
// (reduction, journal, summaries) takes them unchanged. Only the token level L
// is measured (there is no class, no latent level); the entries of levels
// 0..L−1 hold a placeholder that passes the journal's checks (agreement 1,
// every trajectory "kept", no change), and the collector drops their rows
// (phase_units.cpp). The token level's trajectories all count as "kept".
UnitMeasures run_markov_unit(const PhaseConfig& config, int L, uint64_t grammar_seed, size_t noise_index);

}  // namespace hdiff
