#pragma once
// Exact BP on quenched random grammars (SPEC §1–3), averaged over grammar seeds:
// the reference that density evolution must reproduce.

#include <cmath>
#include <cstdint>
#include <vector>

#include "bp/belief_propagation.h"
#include "common/parallel.h"
#include "grammar/grammar.h"
#include "grammar/sampling.h"
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
  const int L = params.L;
  std::vector<std::vector<double>> per_grammar(static_cast<size_t>(grammars));
  for (int g = 0; g < grammars; ++g) {
    params.seed = seed * 1000 + static_cast<uint64_t>(g);
    const Grammar grammar = make_random_grammar(params);
    const SampleBatch batch = sample_batch(grammar, params.seed, 0, samples);
    const int64_t d = sequence_length(params);
    const int64_t leaf_offset = level_offset(params, L);
    std::vector<double> mass(static_cast<size_t>(samples * (L + 1)));
    struct Work {
      TreeMessages messages;
      std::vector<uint32_t> observed;
      std::vector<double> values;
      std::vector<double> marginals;
    };
    parallel_for_with_state(
        samples,
        [&] {
          return Work{TreeMessages(params), std::vector<uint32_t>(static_cast<size_t>(d)),
                      std::vector<double>(static_cast<size_t>(d * params.v)),
                      std::vector<double>(static_cast<size_t>(d * std::max(params.v, params.n_classes)))};
        },
        [&](Work& work, int64_t n) {
          const auto tree = batch.tree(n);
          const auto clean = tree.subspan(static_cast<size_t>(leaf_offset), static_cast<size_t>(d));
          RandomStream random(params.seed, RandomDomain::noise, static_cast<uint64_t>(n));
          if (noise.channel == Channel::gaussian) {
            corrupt_gaussian(noise, params.v, clean, random, work.values);
            work.messages.leaf_log_scale = gaussian_likelihoods(noise, params.v, work.values, work.messages.leaves());
          } else {
            corrupt_tokens(noise, params.v, clean, random, work.observed);
            work.messages.leaf_log_scale = token_likelihoods(noise, params.v, work.observed, work.messages.leaves());
          }
          upward_messages(grammar, work.messages);
          downward_messages(grammar, work.messages);
          for (int level = 0; level <= L; ++level) {
            const int64_t nodes = nodes_at_level(params, level);
            const int width = symbols_at_level(params, level);
            node_marginals(grammar, work.messages, level,
                           {work.marginals.data(), static_cast<size_t>(nodes * width)});
            double total = 0;
            for (int64_t i = 0; i < nodes; ++i)
              total += work.marginals[static_cast<size_t>(i * width + tree[static_cast<size_t>(level_offset(params, level) + i)])];
            mass[static_cast<size_t>(n * (L + 1) + level)] = total / static_cast<double>(nodes);
          }
        });
    auto& means = per_grammar[static_cast<size_t>(g)];
    means.assign(static_cast<size_t>(L + 1), 0.0);
    for (int64_t n = 0; n < samples; ++n)
      for (int level = 0; level <= L; ++level)
        means[static_cast<size_t>(level)] += mass[static_cast<size_t>(n * (L + 1) + level)] / static_cast<double>(samples);
  }
  ExactMass result;
  for (int level = 0; level <= L; ++level) {
    double sum = 0, squares = 0;
    for (const auto& means : per_grammar) sum += means[static_cast<size_t>(level)];
    const double mean = sum / grammars;
    for (const auto& means : per_grammar)
      squares += (means[static_cast<size_t>(level)] - mean) * (means[static_cast<size_t>(level)] - mean);
    result.mean.push_back(mean);
    result.standard_error.push_back(std::sqrt(squares / (grammars - 1) / grammars));
  }
  return result;
}

}  // namespace hdiff::testing
