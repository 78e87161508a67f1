#pragma once
// Exact BP on quenched random grammars (SPEC §1–3), averaged over grammar seeds:
// the reference that density evolution must reproduce. It is the phase
// experiment's posterior mass, so theory and `hdiff phase` are compared on the
// same measure.

#include <cstdint>
#include <vector>

#include "experiment/phase.h"
#include "experiment/phase_units.h"
#include "grammar/grammar.h"
#include "noise/channel.h"

namespace hdiff::testing {

// Mean posterior mass on the true value at each level 0..L, with the standard
// error of the mean over grammars (it includes the spread between grammars).
struct ExactMass {
  std::vector<double> mean;
  std::vector<double> standard_error;
};

inline ExactMass exact_posterior_mass(GrammarParams params, const NoiseSpec& noise, int grammars, int64_t samples,
                                      uint64_t seed) {
  PhaseConfig config;
  config.v = params.v;
  config.n_classes = params.n_classes;
  config.m = params.m;
  config.s = params.s;
  config.depths = {params.L};
  config.grammar_seeds.clear();
  for (int g = 0; g < grammars; ++g) config.grammar_seeds.push_back(seed * 1000 + static_cast<uint64_t>(g));
  config.channel = noise.channel;
  config.noise = {{noise.level, std::nullopt}};
  config.samples = samples;
  config.seed = seed;
  ExactMass result;
  for (const auto& row : run_phase(config).rows) {
    result.mean.push_back(row.posterior_mass.mean);
    result.standard_error.push_back(row.posterior_mass.standard_error);
  }
  return result;
}

}  // namespace hdiff::testing
