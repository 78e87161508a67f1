// The forward–backward experiment with a denoiser in place of BP, beside exact
// BP from the very same noisy inputs (docs/networks.md).

#include <algorithm>

#include "bp/denoise.h"
#include "common/error.h"
#include "common/memory.h"
#include "common/parallel.h"
#include "denoiser/chains.h"
#include "denoiser/measure.h"
#include "grammar/sampling.h"

namespace hdiff {
namespace {

constexpr int64_t kMaxSamples = int64_t{1} << 32;
constexpr int kMaxTrajectories = 1000000;
constexpr size_t kMaxNoiseLevels = 10000;

// The sub-stream of item (n, t) at noise index j, as `hdiff phase` keys its noise.
uint64_t item_stream(size_t j, int64_t t) { return static_cast<uint64_t>(j) | (static_cast<uint64_t>(t) << 32); }

// What one denoised string kept of its clean tree, level by level.
struct ItemMeasures {
  std::vector<double> agreement;   // items × levels: fraction of nodes valid and equal to the clean symbol
  std::vector<int64_t> valid;      // items × levels: valid nodes
  std::vector<uint8_t> kept;       // items: the class is valid and kept
  std::vector<std::vector<uint8_t>> changed;  // per level: items × nodes, 1 = invalid or different
};

ItemMeasures measure_items(const Grammar& grammar, std::span<const uint32_t> clean_trees, int trajectories,
                           std::span<const uint32_t> denoised) {
  const auto& p = grammar.params;
  const int levels = p.L + 1;
  const int64_t d = sequence_length(p), size = tree_size(p);
  const auto items = static_cast<int64_t>(denoised.size()) / d;
  ItemMeasures out;
  out.agreement.resize(static_cast<size_t>(items * levels));
  out.valid.resize(out.agreement.size());
  out.kept.resize(static_cast<size_t>(items));
  for (int level = 0; level <= p.L; ++level) out.changed.emplace_back(static_cast<size_t>(items * nodes_at_level(p, level)));
  parallel_for(items, [&](int64_t j) {
    const ParsedTree tree = parse_tokens(grammar, denoised.subspan(static_cast<size_t>(j * d), static_cast<size_t>(d)));
    const uint32_t* clean = clean_trees.data() + (j / trajectories) * size;
    for (int level = 0; level <= p.L; ++level) {
      const int64_t count = nodes_at_level(p, level), begin = level_offset(p, level);
      const auto& symbols = tree.symbols[static_cast<size_t>(level)];
      const auto& valid = tree.valid[static_cast<size_t>(level)];
      uint8_t* changes = out.changed[static_cast<size_t>(level)].data() + j * count;
      int64_t same = 0, valid_nodes = 0;
      for (int64_t i = 0; i < count; ++i) {
        const bool kept = valid[static_cast<size_t>(i)] && symbols[static_cast<size_t>(i)] == clean[begin + i];
        same += kept;
        valid_nodes += valid[static_cast<size_t>(i)];
        changes[i] = !kept;
      }
      out.agreement[static_cast<size_t>(j * levels + level)] = static_cast<double>(same) / static_cast<double>(count);
      out.valid[static_cast<size_t>(j * levels + level)] = valid_nodes;
    }
    out.kept[static_cast<size_t>(j)] = tree.valid[0][0] && tree.symbols[0][0] == clean[0];
  });
  return out;
}

// Agreement, outcome and change statistics of one level, as `hdiff phase` computes them.
struct LevelSummary {
  Estimate agreement;
  OutcomeAgreement kept, changed;
  ChangeSummary changes;
};

LevelSummary summarise_level(const ItemMeasures& measures, int64_t samples, int trajectories, int s, int level, int levels) {
  std::vector<double> per_sample(static_cast<size_t>(samples), 0.0);
  OutcomeSums kept{std::vector<double>(static_cast<size_t>(samples)), std::vector<double>(static_cast<size_t>(samples))};
  OutcomeSums changed = kept;
  for (int64_t n = 0; n < samples; ++n)
    for (int t = 0; t < trajectories; ++t) {
      const int64_t j = n * trajectories + t;
      const double agreement = measures.agreement[static_cast<size_t>(j * levels + level)];
      per_sample[static_cast<size_t>(n)] += agreement / trajectories;
      auto& outcome = measures.kept[static_cast<size_t>(j)] ? kept : changed;
      outcome.count[static_cast<size_t>(n)] += 1;
      outcome.agreement_sum[static_cast<size_t>(n)] += agreement;
    }
  LevelSummary summary;
  summary.agreement = estimate_mean(per_sample);
  const int64_t total = samples * trajectories;
  summary.kept = combine_outcome({&kept}, total);
  summary.changed = combine_outcome({&changed}, total);
  const ChangeTerms terms = change_terms(measures.changed[static_cast<size_t>(level)], samples, trajectories, s, level);
  summary.changes = combine_changes({&terms});
  return summary;
}

}  // namespace

void validate(const DenoiserPhaseConfig& config, const GrammarParams& params) {
  validate(params);
  if (config.channel != Channel::mask && config.channel != Channel::uniform)
    fail("channel {} cannot be measured with a token denoiser; choose mask or uniform", channel_name(config.channel));
  if (config.noise.empty()) fail("no noise levels given; give at least one level in [0, 1]");
  if (config.noise.size() > kMaxNoiseLevels) fail("{} noise levels are too many; give at most {}", config.noise.size(), kMaxNoiseLevels);
  for (double level : config.noise)
    if (!(level >= 0 && level <= 1)) fail("noise level {} must lie in [0, 1]", level);
  if (config.samples < 1 || config.samples > kMaxSamples) fail("samples {} must lie in [1, {}]", config.samples, kMaxSamples);
  if (config.trajectories < 1 || config.trajectories > kMaxTrajectories)
    fail("trajectories {} must lie in [1, {}]", config.trajectories, kMaxTrajectories);
  uniform_schedule(config.uniform_steps);  // an Error for a bad T, whatever the channel
  const auto items = static_cast<double>(config.samples) * config.trajectories;
  const auto d = static_cast<double>(sequence_length(params)), size = static_cast<double>(tree_size(params));
  const double levels = params.L + 1;
  // Clean trees; per item: noisy, net and BP tokens, a stream, measures of net
  // and BP (agreement, valid counts, change patterns), BP's evidence; one
  // denoiser call's rows (twice: the denoiser's and a copy the caller may hold).
  const double bytes = static_cast<double>(config.samples) * size * 4 +
                       items * (12 * d + sizeof(RandomStream) + 2 * (16 * levels + size + 1) + 8) +
                       16.0 * static_cast<double>(denoiser_batch_strings(sequence_length(params), params.v)) * d * params.v;
  check_memory(bytes, "the denoiser's forward-backward experiment", "use fewer samples or trajectories");
}

std::vector<DenoiserPhaseRow> denoiser_phase(const Grammar& grammar, const TokenDenoiser& denoiser,
                                             const DenoiserPhaseConfig& config,
                                             const std::function<void(int64_t)>& on_progress) {
  const auto& p = grammar.params;
  validate(config, p);
  const int64_t d = sequence_length(p), size = tree_size(p), leaf_begin = level_offset(p, p.L);
  const int levels = p.L + 1;
  const int64_t N = config.samples;
  const int T = config.trajectories;
  const int64_t items = N * T;
  const UniformSchedule schedule = uniform_schedule(config.uniform_steps);

  std::vector<uint32_t> clean(static_cast<size_t>(N * size));
  parallel_for(N, [&](int64_t n) {
    sample_tree(grammar, config.seed, n, std::span<uint32_t>(clean).subspan(static_cast<size_t>(n * size), static_cast<size_t>(size)));
  });
  std::vector<DenoiserPhaseRow> rows;
  std::vector<uint32_t> observed(static_cast<size_t>(items * d)), net_tokens;
  for (size_t j = 0; j < config.noise.size(); ++j) {
    // Uniform: the level snapped to the schedule, so that the chain starts at a step.
    int step = 0;
    double level = config.noise[j];
    if (config.channel == Channel::uniform) {
      step = uniform_step_at(schedule, level);
      level = uniform_noise_at(schedule, step);
    }
    const NoiseSpec spec{config.channel, level};
    parallel_for(items, [&](int64_t item) {
      const int64_t n = item / T;
      RandomStream random(config.seed, RandomDomain::noise, static_cast<uint64_t>(n), item_stream(j, item % T));
      corrupt_tokens(spec, p.v, std::span<const uint32_t>(clean).subspan(static_cast<size_t>(n * size + leaf_begin), static_cast<size_t>(d)),
                     random, std::span<uint32_t>(observed).subspan(static_cast<size_t>(item * d), static_cast<size_t>(d)));
    });
    // BP: one exact posterior draw per item from the same noisy input.
    DenoiseRequest request;
    request.noise = spec;
    request.marginals = false;
    request.posterior_samples = 1;
    request.seed = mix64(config.seed ^ mix64(static_cast<uint64_t>(j) + 0x5eed0fb9ULL));
    const DenoiseResult exact = denoise(grammar, Observations{items, observed, {}}, request);
    // The denoiser's chain, one stream per item.
    net_tokens = observed;
    std::vector<RandomStream> randoms;
    randoms.reserve(static_cast<size_t>(items));
    for (int64_t item = 0; item < items; ++item)
      randoms.emplace_back(config.seed, RandomDomain::experiment, static_cast<uint64_t>(item / T), item_stream(j, item % T));
    if (config.channel == Channel::mask)
      unmask_chain(denoiser, p, net_tokens, randoms);
    else
      ancestral_chain(denoiser, p, schedule, step, net_tokens, randoms);

    const ItemMeasures net = measure_items(grammar, clean, T, net_tokens);
    const ItemMeasures bp = measure_items(grammar, clean, T, exact.posterior_tokens);
    for (int l = 0; l < levels; ++l) {
      const LevelSummary net_summary = summarise_level(net, N, T, p.s, l, levels);
      const LevelSummary bp_summary = summarise_level(bp, N, T, p.s, l, levels);
      DenoiserPhaseRow row;
      row.noise = level;
      row.level = l;
      row.agreement_net = net_summary.agreement;
      row.agreement_bp = bp_summary.agreement;
      int64_t valid = 0;
      for (int64_t item = 0; item < items; ++item) valid += net.valid[static_cast<size_t>(item * levels + l)];
      row.validity_net = static_cast<double>(valid) / (static_cast<double>(items) * static_cast<double>(nodes_at_level(p, l)));
      row.kept_net = net_summary.kept;
      row.changed_net = net_summary.changed;
      row.kept_bp = bp_summary.kept;
      row.changed_bp = bp_summary.changed;
      row.changes_net = net_summary.changes;
      row.changes_bp = bp_summary.changes;
      rows.push_back(std::move(row));
    }
    if (on_progress) on_progress(items * static_cast<int64_t>(j + 1));
  }
  return rows;
}

}  // namespace hdiff
