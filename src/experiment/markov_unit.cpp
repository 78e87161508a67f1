#include "experiment/markov_unit.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "common/random.h"
#include "grammar/grammar.h"
#include "markov/forward_backward.h"
#include "markov/markov_chain.h"
#include "noise/channel.h"

namespace hdiff {
namespace {

// One thread's buffers for one item (a clean sample and one trajectory).
struct Workspace {
  std::vector<uint32_t> clean, observed, denoised;
  std::vector<double> values, likelihoods;
  ChainPosterior posterior;
};

}  // namespace

UnitMeasures run_markov_unit(const PhaseConfig& config, int L, uint64_t grammar_seed, size_t noise_index) {
  const GrammarParams params{config.v, config.n_classes, config.m, config.s, L, grammar_seed};
  const MarkovChain chain = rhm_matched_chain(make_random_grammar(params));
  const NoiseSpec noise{config.channel, config.noise[noise_index].level};
  const int64_t d = sequence_length(params);
  const auto v = static_cast<size_t>(config.v);
  const int levels = L + 1;
  const int64_t N = config.samples;
  const int T = config.trajectories;
  // As phase.cpp's sample seed: the same streams as the RHM's unit of this grammar seed.
  const uint64_t seed = mix64(config.seed ^ mix64(grammar_seed));
  const int64_t items = N * T;
  std::vector<double> item_agreement(static_cast<size_t>(items)), item_mass(static_cast<size_t>(items));
  std::vector<uint8_t> changed(static_cast<size_t>(items * d));
  // information.csv at the token level, from the first K samples' first trajectory (as phase.cpp).
  const int64_t K = information_sample_count(config);
  std::vector<double> item_entropy(static_cast<size_t>(K)), item_cross(item_entropy.size()), item_same(item_entropy.size());
  parallel_for_with_state(
      items,
      [&] {
        Workspace work;
        work.clean.resize(static_cast<size_t>(d));
        work.observed.resize(static_cast<size_t>(d));
        work.denoised.resize(static_cast<size_t>(d));
        work.likelihoods.resize(static_cast<size_t>(d) * v);
        if (config.channel == Channel::gaussian) work.values.resize(static_cast<size_t>(d) * v);
        return work;
      },
      [&](Workspace& work, int64_t j) {
        if (interrupted()) return;  // the caller discards an interrupted unit
        const int64_t n = j / T;
        // Trajectory 0 keeps the streams of a run without trajectories (as phase.cpp).
        const uint64_t stream = noise_index | (static_cast<uint64_t>(j % T) << 32);
        RandomStream sample_random(seed, RandomDomain::sample, static_cast<uint64_t>(n));
        sample_chain(chain, sample_random, work.clean);
        RandomStream noise_random(seed, RandomDomain::noise, static_cast<uint64_t>(n), stream);
        if (config.channel == Channel::gaussian) {
          corrupt_gaussian(noise, config.v, work.clean, noise_random, work.values);
          gaussian_likelihoods(noise, config.v, work.values, work.likelihoods);
        } else {
          corrupt_tokens(noise, config.v, work.clean, noise_random, work.observed);
          token_likelihoods(noise, config.v, work.observed, work.likelihoods);
        }
        forward_backward(chain, work.likelihoods, d, work.posterior);
        RandomStream posterior_random(seed, RandomDomain::posterior, static_cast<uint64_t>(n), stream);
        sample_posterior(chain, work.posterior, d, posterior_random, work.denoised);
        int64_t same = 0;
        double mass = 0;
        uint8_t* changes = changed.data() + j * d;
        for (int64_t i = 0; i < d; ++i) {
          const uint32_t truth = work.clean[static_cast<size_t>(i)];
          const bool kept = work.denoised[static_cast<size_t>(i)] == truth;
          same += kept;
          changes[i] = !kept;
          mass += work.posterior.marginals[static_cast<size_t>(i) * v + truth];
        }
        item_agreement[static_cast<size_t>(j)] = static_cast<double>(same) / static_cast<double>(d);
        if (j % T == 0 && n < K) {
          double entropy = 0, cross = 0, same_symbol = 0;
          for (int64_t i = 0; i < d; ++i) {
            const double* p = work.posterior.marginals.data() + static_cast<size_t>(i) * v;
            for (size_t a = 0; a < v; ++a) {
              if (p[a] > 0) entropy -= p[a] * std::log(p[a]);
              same_symbol += p[a] * p[a];
            }
            cross -= std::log(std::max(p[work.clean[static_cast<size_t>(i)]], 1e-300));
          }
          item_entropy[static_cast<size_t>(n)] = entropy / static_cast<double>(d);
          item_cross[static_cast<size_t>(n)] = cross / static_cast<double>(d);
          item_same[static_cast<size_t>(n)] = same_symbol / static_cast<double>(d);
        }
        item_mass[static_cast<size_t>(j)] = mass / static_cast<double>(d);
      });
  UnitMeasures measures;
  if (interrupted()) return measures;
  measures.agreement.assign(static_cast<size_t>(N * levels), 1.0);
  measures.mass.assign(static_cast<size_t>(N * levels), 1.0);
  const auto per_sample = [&](double value) { return std::vector<double>(static_cast<size_t>(N), value); };
  measures.kept.assign(static_cast<size_t>(levels), {per_sample(T), per_sample(T)});
  measures.changed.assign(static_cast<size_t>(levels), {per_sample(0), per_sample(0)});
  auto& token_kept = measures.kept[static_cast<size_t>(L)];
  std::fill(token_kept.agreement_sum.begin(), token_kept.agreement_sum.end(), 0.0);
  const auto token = [&](int64_t n) { return static_cast<size_t>(n * levels + L); };
  for (int64_t n = 0; n < N; ++n) {
    measures.agreement[token(n)] = 0;
    measures.mass[token(n)] = 0;
    for (int t = 0; t < T; ++t) {
      const auto j = static_cast<size_t>(n * T + t);
      measures.agreement[token(n)] += item_agreement[j] / T;
      measures.mass[token(n)] += item_mass[j] / T;
      token_kept.agreement_sum[static_cast<size_t>(n)] += item_agreement[j];
    }
  }
  // Information: the token level measured, the placeholder levels certain (entropy 0, same symbol 1).
  measures.entropy.assign(static_cast<size_t>(K * levels), 0.0);
  measures.cross_entropy.assign(measures.entropy.size(), 0.0);
  measures.same_symbol.assign(measures.entropy.size(), 1.0);
  for (int64_t n = 0; n < K; ++n) {
    measures.entropy[token(n)] = item_entropy[static_cast<size_t>(n)];
    measures.cross_entropy[token(n)] = item_cross[static_cast<size_t>(n)];
    measures.same_symbol[token(n)] = item_same[static_cast<size_t>(n)];
  }
  measures.prior_entropy.assign(static_cast<size_t>(levels), 0.0);
  for (double p : chain.stationary)
    if (p > 0) measures.prior_entropy[static_cast<size_t>(L)] -= p * std::log(p);
  // The placeholder levels: the sizes change_terms gives, every term zero.
  const bool covariance = !(T == 1 && N < 2);
  measures.changes.resize(static_cast<size_t>(levels));
  for (int level = 0; level < L; ++level) {
    ChangeTerms& terms = measures.changes[static_cast<size_t>(level)];
    terms.positions = static_cast<double>(nodes_at_level(params, level));
    if (covariance) {
      terms.total = per_sample(0);
      terms.diagonal = per_sample(0);
      terms.window = per_sample(0);
    }
    terms.by_lca.assign(static_cast<size_t>(level), covariance ? per_sample(0) : std::vector<double>{});
  }
  measures.changes[static_cast<size_t>(L)] = change_terms(changed, N, T, config.s, L, config.change_window);
  return measures;
}

}  // namespace hdiff
