#pragma once
// Counter-based random streams: every random quantity in hdiff is drawn from a
// stream keyed by (seed, domain, index), so a sample is a pure function of its
// seed and index, whatever the batch size, order or thread count.

#include <cmath>
#include <cstdint>
#include <numbers>

namespace hdiff {

// 128-bit product for unbiased bounded draws (a GCC/Clang extension).
__extension__ typedef unsigned __int128 uint128_t;

// Domains keep the streams of different purposes apart for the same seed.
enum class RandomDomain : uint64_t {
  grammar = 1,
  sample = 2,
  noise = 3,
  posterior = 4,
  theory = 5,
  experiment = 6,
};

// SplitMix64 finaliser: a bijective mixer of 64-bit words.
constexpr uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A xoshiro256++ generator whose state is derived from a key; cheap to create
// per item.
class RandomStream {
 public:
  // The stream for item `index` of `domain` under `seed`; `sub` separates
  // several streams of one item (e.g. posterior draw k of sample n).
  RandomStream(uint64_t seed, RandomDomain domain, uint64_t index, uint64_t sub = 0) {
    uint64_t key = mix64(seed ^ mix64(static_cast<uint64_t>(domain) ^ mix64(index ^ mix64(sub + 0x632be59bd9b4e019ULL))));
    for (auto& word : state_) {
      key = mix64(key);
      word = key;
    }
  }

  // Next 64 uniformly random bits.
  uint64_t next() {
    const uint64_t result = rotl(state_[0] + state_[3], 23) + state_[0];
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // The generator's four state words, for code that advances several streams in
  // lockstep with vector instructions (and must then give the words next() would).
  uint64_t* state_words() { return state_; }

  // Uniform double in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  // Uniform integer in [0, n), unbiased (Lemire's method), n >= 1.
  uint64_t below(uint64_t n) {
    uint128_t product = static_cast<uint128_t>(next()) * n;
    auto low = static_cast<uint64_t>(product);
    if (low < n) {
      const uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        product = static_cast<uint128_t>(next()) * n;
        low = static_cast<uint64_t>(product);
      }
    }
    return static_cast<uint64_t>(product >> 64);
  }

  // Standard normal deviate (Box–Muller; one deviate per call keeps the
  // stream position a simple function of the number of calls).
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

}  // namespace hdiff
