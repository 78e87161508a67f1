#include "nets/training_batch.h"

#include <algorithm>
#include <cmath>

#include "common/random.h"
#include "grammar/grammar.h"

namespace hdiff::nets {
namespace {

// Separates the training streams from every other use of RandomDomain::experiment.
constexpr uint64_t kTrainingStream = 0x7472'6169'6e00'0000ULL;

RandomStream stream(const NetConfig& config, int64_t step, uint64_t sub) {
  return RandomStream(config.train_seed ^ kTrainingStream, RandomDomain::experiment, static_cast<uint64_t>(step), sub);
}

}  // namespace

TrainingBatch draw_training_batch(const NetConfig& config, std::span<const uint32_t> training, int64_t step,
                                  std::span<const double> alpha_bars) {
  const int64_t d = token_length(config);
  const int64_t count = static_cast<int64_t>(training.size()) / d;
  const int v = token_vocabulary(config);
  TrainingBatch batch;
  batch.rows = config.batch;
  batch.length = d;
  batch.clean.resize(static_cast<size_t>(batch.rows * d));
  batch.noisy.resize(batch.clean.size());
  batch.noise.resize(static_cast<size_t>(batch.rows));
  batch.step.assign(static_cast<size_t>(batch.rows), 0);
  const double shift = stream(config, step, 0).uniform();
  for (int64_t r = 0; r < batch.rows; ++r) {
    RandomStream rng = stream(config, step, static_cast<uint64_t>(r) + 1);
    const auto string = static_cast<int64_t>(rng.below(static_cast<uint64_t>(count)));
    double level = 0;
    if (config.process == Channel::mask) {
      const double t = std::fmod(shift + static_cast<double>(r) / static_cast<double>(batch.rows), 1.0);
      level = std::max(t, kMinMaskLevel);
    } else {
      const int k = 1 + static_cast<int>(rng.below(static_cast<uint64_t>(config.uniform_steps)));
      batch.step[static_cast<size_t>(r)] = k;
      level = 1.0 - alpha_bars[static_cast<size_t>(k)];
    }
    batch.noise[static_cast<size_t>(r)] = static_cast<float>(level);
    for (int64_t i = 0; i < d; ++i) {
      const auto token = static_cast<int64_t>(training[static_cast<size_t>(string * d + i)]);
      const auto at = static_cast<size_t>(r * d + i);
      batch.clean[at] = token;
      const bool noised = rng.uniform() < level;
      if (config.process == Channel::mask) batch.noisy[at] = noised ? v : token;
      else batch.noisy[at] = noised ? static_cast<int64_t>(rng.below(static_cast<uint64_t>(v))) : token;
    }
  }
  return batch;
}

}  // namespace hdiff::nets
