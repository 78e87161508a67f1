#include "bp/denoise.h"

#include <algorithm>

#include <fmt/ranges.h>

#include "bp/batch_bp.h"
#include "bp/belief_propagation.h"
#include "common/error.h"
#include "common/memory.h"
#include "common/parallel.h"
#include "common/random.h"

namespace hdiff {

const char* precision_name(Precision precision) { return precision == Precision::float64 ? "double" : "float"; }

Precision parse_precision(const std::string& name) {
  if (name == "float") return Precision::float32;
  if (name == "double") return Precision::float64;
  fail("unknown precision '{}'; use float (the fast float32 path) or double (the exact double path)", name);
}

void validate(const DenoiseRequest& request) {
  validate(request.noise);
  if (request.posterior_samples < 0) fail("--posterior-samples must be >= 0");
}

uint64_t max_observed_token(const GrammarParams& params, Channel channel) {
  return channel == Channel::mask ? static_cast<uint64_t>(params.v) : static_cast<uint64_t>(params.v - 1);
}

void check_observation_shape(const GrammarParams& params, Channel channel, const std::vector<int64_t>& shape,
                             const std::string& what) {
  const int64_t d = sequence_length(params);
  const std::string shape_text = fmt::format("({})", fmt::join(shape, ", "));
  if (channel == Channel::gaussian) {
    if (shape.size() != 3 || shape[1] != d || shape[2] != params.v)
      fail("{}: shape {} does not fit; gaussian observations must be N × d × v = N × {} × {} floats", what, shape_text,
           d, params.v);
  } else if (shape.size() != 2 || shape[1] != d) {
    fail("{}: shape {} does not fit; tokens must be N × d = N × {} integers", what, shape_text, d);
  }
  if (shape[0] < 1) fail("{}: holds no observations", what);
}

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

namespace {

// denoise on the double reference path, one observation at a time (each in its
// own slots, so the results do not depend on the thread count): the same
// posterior streams and MAP as the batch path, messages in double.
void denoise_double(const Grammar& grammar, const Observations& observations, const DenoiseRequest& request,
                    DenoiseResult& result) {
  const auto& p = grammar.params;
  const int64_t N = observations.count;
  const int64_t d = sequence_length(p);
  const int K = request.posterior_samples;
  const int64_t leaf_offset = level_offset(p, p.L);
  struct Workspace {
    TreeMessages messages;
    std::vector<uint32_t> tree;
  };
  parallel_for_with_state(
      N,
      [&] {
        return Workspace{TreeMessages(p), std::vector<uint32_t>(static_cast<size_t>(tree_size(p)))};
      },
      [&](Workspace& work, int64_t n) {
        TreeMessages& messages = work.messages;
        try {
          messages.leaf_log_scale = observation_likelihoods(request.noise, p.v, observations, n, d, messages.leaves());
          upward_messages(grammar, messages);
        } catch (const Error& e) {
          fail("observation {}: {}", n, e.what());
        }
        result.log_evidence[static_cast<size_t>(n)] = messages.log_evidence;
        if (request.marginals) {
          downward_messages(grammar, messages);
          for (int level = 0; level <= p.L; ++level) {
            const int64_t size = nodes_at_level(p, level) * symbols_at_level(p, level);
            node_marginals(grammar, messages, level,
                           {result.marginals[static_cast<size_t>(level)].data() + n * size, static_cast<size_t>(size)});
          }
        }
        for (int k = 0; k < K; ++k) {
          RandomStream random(request.seed, RandomDomain::posterior, static_cast<uint64_t>(n),
                              static_cast<uint64_t>(k));
          sample_posterior(grammar, messages, random, work.tree);
          std::copy(work.tree.begin() + leaf_offset, work.tree.end(),
                    result.posterior_tokens.begin() + (n * K + k) * d);
        }
        if (request.map) {
          map_tree(grammar, messages, work.tree);
          std::copy(work.tree.begin() + leaf_offset, work.tree.end(), result.map_tokens.begin() + n * d);
        }
      });
}

}  // namespace

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

  if (request.precision == Precision::float64) {
    denoise_double(grammar, observations, request, result);
    return result;
  }
  // Observations go through the batch path kBatchLanes at a time, batches formed
  // from observation indices, so results do not depend on the thread count.
  // MAP (max-product) runs on the double reference path.
  const BatchPlan plan(grammar, request.noise);
  struct Workspace {
    BatchMessages batch;
    TreeMessages messages;  // MAP only
    std::vector<std::vector<uint32_t>> trees;
    std::vector<RandomStream> randoms;
  };
  const auto nodes = static_cast<size_t>(tree_size(p));
  const int64_t leaf_offset = level_offset(p, p.L);
  const int64_t batches = (N + kBatchLanes - 1) / kBatchLanes;
  parallel_for_with_state(
      batches,
      [&] {
        return Workspace{BatchMessages(plan), TreeMessages(p),
                         std::vector<std::vector<uint32_t>>(kBatchLanes, std::vector<uint32_t>(nodes)), {}};
      },
      [&](Workspace& work, int64_t batch_index) {
        const int64_t first = batch_index * kBatchLanes;
        const int lanes = static_cast<int>(std::min<int64_t>(kBatchLanes, N - first));
        clear_batch(work.batch);
        // A bad observation stops the loading; the error reported is still that
        // of the lowest observation index, as with one observation at a time.
        std::string load_error;
        for (int l = 0; l < lanes && load_error.empty(); ++l) {
          const int64_t n = first + l;
          try {
            if (request.noise.channel == Channel::gaussian)
              load_gaussian(plan, work.batch,
                            observations.values.subspan(static_cast<size_t>(n * d * p.v), static_cast<size_t>(d * p.v)));
            else
              load_tokens(plan, work.batch, observations.tokens.subspan(static_cast<size_t>(n * d), static_cast<size_t>(d)));
          } catch (const Error& e) {
            load_error = fmt::format("observation {}: {}", n, e.what());
          }
        }
        batch_upward(plan, work.batch);
        for (int l = 0; l < work.batch.lanes; ++l)
          if (!lane_error(work.batch, l).empty()) fail("observation {}: {}", first + l, lane_error(work.batch, l));
        if (!load_error.empty()) fail("{}", load_error);
        for (int l = 0; l < lanes; ++l) result.log_evidence[static_cast<size_t>(first + l)] = lane_log_evidence(work.batch, l);
        if (request.marginals) {
          batch_downward(plan, work.batch);
          for (int l = 0; l < lanes; ++l)
            for (int level = 0; level <= p.L; ++level) {
              const int64_t size = nodes_at_level(p, level) * symbols_at_level(p, level);
              batch_marginals(plan, work.batch, l, level,
                              {result.marginals[static_cast<size_t>(level)].data() + (first + l) * size, static_cast<size_t>(size)});
            }
        }
        std::vector<std::span<uint32_t>> trees(work.trees.begin(), work.trees.begin() + lanes);
        for (int k = 0; k < K; ++k) {
          work.randoms.clear();
          for (int l = 0; l < lanes; ++l)
            work.randoms.emplace_back(request.seed, RandomDomain::posterior, static_cast<uint64_t>(first + l), static_cast<uint64_t>(k));
          batch_sample_posteriors(plan, work.batch, work.randoms, trees);
          for (int l = 0; l < lanes; ++l)
            std::copy(work.trees[static_cast<size_t>(l)].begin() + leaf_offset, work.trees[static_cast<size_t>(l)].end(),
                      result.posterior_tokens.begin() + ((first + l) * K + k) * d);
        }
        if (request.map) {
          for (int l = 0; l < lanes; ++l) {
            const int64_t n = first + l;
            work.messages.leaf_log_scale = observation_likelihoods(request.noise, p.v, observations, n, d, work.messages.leaves());
            map_tree(grammar, work.messages, work.trees[0]);
            std::copy(work.trees[0].begin() + leaf_offset, work.trees[0].end(), result.map_tokens.begin() + n * d);
          }
        }
      });
  return result;
}

}  // namespace hdiff
