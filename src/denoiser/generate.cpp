// Generation from pure noise with a denoiser, and the quality of generated
// strings: validity per level, copies of the training set, valid new strings.

#include <algorithm>
#include <set>
#include <vector>

#include "common/error.h"
#include "common/memory.h"
#include "common/parallel.h"
#include "denoiser/chains.h"
#include "denoiser/measure.h"

namespace hdiff {
namespace {

// The sub-stream of generation, apart from every (noise index, trajectory) of denoiser_phase.
constexpr uint64_t kGenerationStream = ~uint64_t{0};

}  // namespace

std::vector<uint32_t> generate(const GrammarParams& params, const TokenDenoiser& denoiser, Channel channel,
                               int64_t count, int uniform_steps, uint64_t seed) {
  validate(params);
  if (channel != Channel::mask && channel != Channel::uniform)
    fail("channel {} cannot be generated with a token denoiser; choose mask or uniform", channel_name(channel));
  constexpr int64_t kMaxCount = int64_t{1} << 32;
  if (count < 1 || count > kMaxCount) fail("the number of generated strings {} must lie in [1, {}]", count, kMaxCount);
  const int64_t d = sequence_length(params);
  check_memory(static_cast<double>(count) * (4.0 * static_cast<double>(d) + sizeof(RandomStream)),
               "the generated strings", "generate fewer strings at once");
  // Validated before any work, even where the mask channel does not use it.
  const UniformSchedule schedule = uniform_schedule(uniform_steps);
  std::vector<uint32_t> tokens(static_cast<size_t>(count * d));
  std::vector<RandomStream> randoms;
  randoms.reserve(static_cast<size_t>(count));
  for (int64_t n = 0; n < count; ++n) randoms.emplace_back(seed, RandomDomain::experiment, static_cast<uint64_t>(n), kGenerationStream);
  if (channel == Channel::mask) {
    std::fill(tokens.begin(), tokens.end(), mask_token(params.v));
    unmask_chain(denoiser, params, tokens, randoms);
  } else {
    // x_T: ᾱ_T ≈ 0, so every token uniform; the same stream then runs the chain.
    parallel_for(count, [&](int64_t n) {
      for (int64_t i = 0; i < d; ++i)
        tokens[static_cast<size_t>(n * d + i)] = static_cast<uint32_t>(randoms[static_cast<size_t>(n)].below(static_cast<uint64_t>(params.v)));
    });
    ancestral_chain(denoiser, params, schedule, schedule.steps, tokens, randoms);
  }
  return tokens;
}

SampleQuality sample_quality(const Grammar& grammar, std::span<const uint32_t> generated,
                             std::span<const uint32_t> training) {
  const auto& p = grammar.params;
  const int64_t d = sequence_length(p);
  const auto length = static_cast<size_t>(d);
  if (generated.empty() || generated.size() % length != 0)
    fail("the generated strings hold {} tokens, not a positive multiple of d = {}", generated.size(), d);
  if (training.size() % length != 0) fail("the training strings hold {} tokens, not a multiple of d = {}", training.size(), d);
  const auto count = static_cast<int64_t>(generated.size() / length);
  std::set<std::vector<uint32_t>> known;
  for (size_t first = 0; first < training.size(); first += length)
    known.emplace(training.begin() + static_cast<std::ptrdiff_t>(first),
                  training.begin() + static_cast<std::ptrdiff_t>(first + length));
  // Per string: valid nodes per level, valid at the root, a copy.
  const auto levels = static_cast<size_t>(p.L);
  std::vector<int64_t> valid_nodes(static_cast<size_t>(count) * levels);
  std::vector<uint8_t> root_valid(static_cast<size_t>(count)), copied(static_cast<size_t>(count));
  parallel_for(count, [&](int64_t n) {
    const auto string = generated.subspan(static_cast<size_t>(n) * length, length);
    const ParsedTree tree = parse_tokens(grammar, string);
    for (size_t level = 0; level < levels; ++level)
      valid_nodes[static_cast<size_t>(n) * levels + level] =
          std::count(tree.valid[level].begin(), tree.valid[level].end(), uint8_t{1});
    root_valid[static_cast<size_t>(n)] = tree.valid[0][0];
    copied[static_cast<size_t>(n)] = known.count(std::vector<uint32_t>(string.begin(), string.end())) > 0;
  });
  SampleQuality quality;
  const auto strings = static_cast<double>(count);
  for (size_t level = 0; level < levels; ++level) {
    int64_t valid = 0;
    for (int64_t n = 0; n < count; ++n) valid += valid_nodes[static_cast<size_t>(n) * levels + level];
    quality.validity.push_back(static_cast<double>(valid) /
                               (strings * static_cast<double>(nodes_at_level(p, static_cast<int>(level)))));
  }
  int64_t valid = 0, copies = 0, valid_new = 0;
  for (int64_t n = 0; n < count; ++n) {
    valid += root_valid[static_cast<size_t>(n)];
    copies += copied[static_cast<size_t>(n)];
    valid_new += root_valid[static_cast<size_t>(n)] && !copied[static_cast<size_t>(n)];
  }
  quality.valid = static_cast<double>(valid) / strings;
  quality.copied = static_cast<double>(copies) / strings;
  quality.valid_new = static_cast<double>(valid_new) / strings;
  return quality;
}

}  // namespace hdiff
