#include "bp/denoise.h"

#include <algorithm>

#include "bp/belief_propagation.h"
#include "common/error.h"
#include "common/memory.h"
#include "common/parallel.h"
#include "common/random.h"

namespace hdiff {

double observation_likelihoods(const NoiseSpec& noise, int v, const Observations& observations, int64_t n, int64_t d,
                               std::span<double> leaves) {
  if (noise.channel == Channel::gaussian)
    return gaussian_likelihoods(noise, v, observations.values.subspan(static_cast<size_t>(n * d * v), static_cast<size_t>(d * v)),
                                leaves);
  return token_likelihoods(noise, v, observations.tokens.subspan(static_cast<size_t>(n * d), static_cast<size_t>(d)), leaves);
}

double denoise_result_bytes(const GrammarParams& params, int64_t count, const DenoiseRequest& request) {
  double per_sample = 8.0;  // log-evidence
  if (request.marginals)
    for (int level = 0; level <= params.L; ++level)
      per_sample += 8.0 * static_cast<double>(nodes_at_level(params, level)) * symbols_at_level(params, level);
  const auto d = static_cast<double>(sequence_length(params));
  per_sample += 4.0 * d * request.posterior_samples + (request.map ? 4.0 * d : 0.0);
  return per_sample * static_cast<double>(count);
}

DenoiseResult denoise(const Grammar& grammar, const Observations& observations, const DenoiseRequest& request) {
  const auto& p = grammar.params;
  validate(request.noise);
  if (request.posterior_samples < 0) fail("the number of posterior samples must be non-negative");
  const int64_t N = observations.count;
  const int64_t d = sequence_length(p);
  check_memory(denoise_result_bytes(p, N, request), "the denoising results", "denoise fewer observations at once");

  DenoiseResult result;
  result.count = N;
  result.log_evidence.assign(static_cast<size_t>(N), 0.0);
  if (request.marginals)
    for (int level = 0; level <= p.L; ++level)
      result.marginals.emplace_back(static_cast<size_t>(N * nodes_at_level(p, level) * symbols_at_level(p, level)));
  const int K = request.posterior_samples;
  result.posterior_tokens.resize(static_cast<size_t>(N * K * d));
  if (request.map) result.map_tokens.resize(static_cast<size_t>(N * d));

  struct Workspace {
    TreeMessages messages;
    std::vector<uint32_t> tree;
  };
  const int64_t leaf_offset = level_offset(p, p.L);
  parallel_for_with_state(
      N, [&] { return Workspace{TreeMessages(p), std::vector<uint32_t>(static_cast<size_t>(tree_size(p)))}; },
      [&](Workspace& work, int64_t n) {
        try {
          work.messages.leaf_log_scale = observation_likelihoods(request.noise, p.v, observations, n, d, work.messages.leaves());
          upward_messages(grammar, work.messages);
        } catch (const Error& e) {
          fail("observation {}: {}", n, e.what());
        }
        result.log_evidence[static_cast<size_t>(n)] = work.messages.log_evidence;
        if (request.marginals) {
          downward_messages(grammar, work.messages);
          for (int level = 0; level <= p.L; ++level) {
            const int64_t size = nodes_at_level(p, level) * symbols_at_level(p, level);
            node_marginals(grammar, work.messages, level,
                           {result.marginals[static_cast<size_t>(level)].data() + n * size, static_cast<size_t>(size)});
          }
        }
        for (int k = 0; k < K; ++k) {
          RandomStream random(request.seed, RandomDomain::posterior, static_cast<uint64_t>(n), static_cast<uint64_t>(k));
          sample_posterior(grammar, work.messages, random, work.tree);
          std::copy(work.tree.begin() + leaf_offset, work.tree.end(),
                    result.posterior_tokens.begin() + (n * K + k) * d);
        }
        if (request.map) {
          map_tree(grammar, work.messages, work.tree);
          std::copy(work.tree.begin() + leaf_offset, work.tree.end(), result.map_tokens.begin() + n * d);
        }
      });
  return result;
}

}  // namespace hdiff
