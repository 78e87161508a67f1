#include "noise/channel.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "noise/exponentials.h"

namespace hdiff {

Channel parse_channel(const std::string& name) {
  if (name == "uniform") return Channel::uniform;
  if (name == "mask") return Channel::mask;
  if (name == "gaussian") return Channel::gaussian;
  if (name == "soft") return Channel::soft;
  fail("unknown noise channel \"{}\"; choose uniform, mask, gaussian or soft", name);
}

std::string channel_name(Channel channel) {
  switch (channel) {
    case Channel::uniform: return "uniform";
    case Channel::mask: return "mask";
    case Channel::gaussian: return "gaussian";
    case Channel::soft: return "soft";
  }
  return "?";
}

void validate(const NoiseSpec& noise) {
  const char* symbol = noise.channel == Channel::gaussian ? "alpha-bar" : "epsilon";
  if (!std::isfinite(noise.level)) fail("noise level {} is not a number; give a value in [0, 1]", symbol);
  if (noise.level < 0 || noise.level > 1)
    fail("noise level {} = {} is outside [0, 1]", symbol, noise.level);
  if (noise.channel == Channel::gaussian && noise.level >= 1)
    fail("gaussian noise with alpha-bar = 1 is noiseless and has no density; give alpha-bar < 1");
}

void corrupt_tokens(const NoiseSpec& noise, int v, std::span<const uint32_t> clean, RandomStream& random,
                    std::span<uint32_t> observed) {
  if (noise.channel == Channel::soft) {
    // The ε-process keeps every token; the noise lives in the likelihood alone.
    std::copy(clean.begin(), clean.end(), observed.begin());
    return;
  }
  for (size_t i = 0; i < clean.size(); ++i) {
    // One uniform draw per decision keeps the stream layout fixed per token.
    const bool hit = random.uniform() < noise.level;
    if (noise.channel == Channel::uniform) {
      const auto redraw = static_cast<uint32_t>(random.below(static_cast<uint64_t>(v)));
      observed[i] = hit ? redraw : clean[i];
    } else {
      observed[i] = hit ? mask_token(v) : clean[i];
    }
  }
}

void corrupt_gaussian(const NoiseSpec& noise, int v, std::span<const uint32_t> clean, RandomStream& random,
                      std::span<double> observed) {
  const double signal = std::sqrt(noise.level);
  const double spread = std::sqrt(1.0 - noise.level);
  for (size_t i = 0; i < clean.size(); ++i)
    for (int a = 0; a < v; ++a)
      observed[i * v + a] = (clean[i] == static_cast<uint32_t>(a) ? signal : 0.0) + spread * random.normal();
}

CorruptedBatch corrupt_batch(const NoiseSpec& noise, int v, int64_t d, std::span<const uint32_t> clean, uint64_t seed) {
  const auto width = static_cast<size_t>(d);
  const auto symbols = static_cast<size_t>(v);
  const size_t count = clean.size() / width;
  const bool gaussian = noise.channel == Channel::gaussian;
  CorruptedBatch batch;
  if (gaussian)
    batch.values.resize(clean.size() * symbols);
  else
    batch.tokens.resize(clean.size());
  for (size_t n = 0; n < count; ++n) {
    RandomStream random(seed, RandomDomain::noise, n, 0);
    const auto row = clean.subspan(n * width, width);
    if (gaussian)
      corrupt_gaussian(noise, v, row, random, std::span<double>(batch.values).subspan(n * width * symbols, width * symbols));
    else
      corrupt_tokens(noise, v, row, random, std::span<uint32_t>(batch.tokens).subspan(n * width, width));
  }
  return batch;
}

double token_likelihoods(const NoiseSpec& noise, int v, std::span<const uint32_t> observed, std::span<double> out) {
  double log_scale = 0;
  const double eps = noise.level;
  for (size_t i = 0; i < observed.size(); ++i) {
    double* leaf = out.data() + i * v;
    const uint32_t o = observed[i];
    if (noise.channel == Channel::mask) {
      if (o == mask_token(v)) {
        std::fill(leaf, leaf + v, 1.0 / v);
        log_scale += std::log(static_cast<double>(v));
        continue;
      }
      if (o > mask_token(v))
        fail("token {} at position {} is out of range; with the mask channel tokens lie in [0, {}] ({} = MASK)", o, i,
             v, v);
      std::fill(leaf, leaf + v, 0.0);
      leaf[o] = 1.0;
    } else {
      if (o >= static_cast<uint32_t>(v))
        fail("token {} at position {} is out of range; tokens lie in [0, {}]", o, i, v - 1);
      // (1-ε)[o = a] + ε/v sums to 1 over a: no normaliser needed.
      std::fill(leaf, leaf + v, eps / v);
      leaf[o] += 1.0 - eps;
    }
  }
  return log_scale;
}

double gaussian_likelihoods(const NoiseSpec& noise, int v, std::span<const double> observed, std::span<double> out) {
  const double coupling = std::sqrt(noise.level) / (1.0 - noise.level);
  double log_scale = 0;
  const size_t leaves = observed.size() / static_cast<size_t>(v);
  // Bounded, and so are they times the coupling, so that every difference
  // x - top and its product with the coupling stays finite (over 2^26 leaves
  // too), which the fast-math exponentials rely on; NaN is refused here too.
  constexpr double kLargest = 1e300;
  for (size_t k = 0; k < observed.size(); ++k) {
    const double size = std::fabs(observed[k]);
    if (!(size <= kLargest && coupling * size <= kLargest))
      fail("gaussian value {} at leaf {}, symbol {} is out of range for noise {}: values, and values times "
           "sqrt(a)/(1-a) = {:.6g}, must lie within ±{:g}",
           observed[k], k / static_cast<size_t>(v), k % static_cast<size_t>(v), noise.level, coupling, kLargest);
  }
  for (size_t i = 0; i < leaves; ++i) {
    const double* x = observed.data() + i * v;
    double* leaf = out.data() + i * v;
    const double top = *std::max_element(x, x + v);
    noise_detail::exponentials(x, coupling, top, leaf, static_cast<size_t>(v));
    double sum = 0;
    for (int a = 0; a < v; ++a) sum += leaf[a];
    const double inverse = 1.0 / sum;
    for (int a = 0; a < v; ++a) leaf[a] *= inverse;
    log_scale += coupling * top + std::log(sum);
  }
  return log_scale;
}

}  // namespace hdiff
