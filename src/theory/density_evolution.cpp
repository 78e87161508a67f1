#include "theory/density_evolution.h"

#include <algorithm>

#include "common/error.h"
#include "common/memory.h"
#include "common/parallel.h"
#include "grammar/grammar.h"
#include "theory/annealed_table.h"

namespace hdiff {
namespace {

// Stages key the random streams: (seed, stage, member) → all randomness of a member.
enum class Stage : uint64_t { leaf = 1, up = 2, root = 3, down = 4 };

uint64_t stage_code(Stage stage, uint64_t depth = 0, uint64_t level = 0) {
  return (static_cast<uint64_t>(stage) << 56) | (depth << 24) | level;
}

Replicas replicas_of(const TheoryParams& params) {
  return {params.population, std::min<int64_t>(params.replicas, params.population)};
}

MessagePopulation leaf_population(const TheoryParams& params, double noise_level) {
  MessagePopulation leaves(params.population, params.v);
  const NoiseSpec noise{params.channel, noise_level};
  parallel_for(params.population, [&](int64_t i) {
    RandomStream random = member_stream(params.seed, stage_code(Stage::leaf), i);
    draw_leaf_message(noise, params.v, random, leaves.at(i));
  });
  return leaves;
}

// Parents from s children drawn within the member's replica, through a fresh
// table; the members of `frozen` replicas (when given) are copied unchanged.
void upward_step(const TheoryParams& params, const MessagePopulation& children, int n_parents, uint64_t stage,
                 MessagePopulation& parents, const std::vector<bool>* frozen = nullptr) {
  const Replicas replicas = replicas_of(params);
  if (parents.count != params.population || parents.width != n_parents)
    parents = MessagePopulation(params.population, n_parents);  // else reused: every member is overwritten
  // Members go to threads in chunks (one scheduling step per member costs more
  // than a member's work); each member's randomness is its own stream regardless.
  constexpr int64_t kChunk = 256;
  parallel_for_with_state(
      (params.population + kChunk - 1) / kChunk,
      [&] { return AnnealedTableSampler(n_parents, params.v, params.m, params.s); },
      [&](AnnealedTableSampler& sampler, int64_t chunk) {
        for (int64_t i = chunk * kChunk; i < std::min(params.population, (chunk + 1) * kChunk); ++i) {
          const int64_t replica = replicas.replica_of(i);
          if (frozen && (*frozen)[static_cast<size_t>(replica)]) {
            const auto from = children.at(i);
            std::copy(from.begin(), from.end(), parents.at(i).begin());
            continue;
          }
          RandomStream random = member_stream(params.seed, stage, i);
          const double* child[16];
          // As replicas.draw_partner(i, random), with the replica found once per member.
          const auto [first, size] = replicas.block(replica);
          for (int j = 0; j < params.s; ++j)
            child[j] = children.at(first + static_cast<int64_t>(random.below(static_cast<uint64_t>(size)))).data();
          if (params.s == 2) {
            sampler.draw_and_combine(random, child[0], child[1], parents.at(i));
            continue;
          }
          const auto table = sampler.draw(random);
          combine_upward(table, n_parents, params.m, params.s, child, parents.at(i));
        }
      });
}

// Downward messages of children in position 0 from a parent's downward message,
// s−1 siblings' upward messages and a fresh table, all drawn independently.
void downward_step(const TheoryParams& params, const MessagePopulation& parent_down, const MessagePopulation& sibling_up,
                   uint64_t stage, MessagePopulation& out) {
  const Replicas replicas = replicas_of(params);
  const int n_parents = parent_down.width;
  out = MessagePopulation(params.population, params.v);
  parallel_for_with_state(
      params.population, [&] { return AnnealedTableSampler(n_parents, params.v, params.m, params.s); },
      [&](AnnealedTableSampler& sampler, int64_t i) {
        RandomStream random = member_stream(params.seed, stage, i);
        const auto parent = parent_down.at(replicas.draw_partner(i, random));
        const double* sibling[16];
        for (int k = 1; k < params.s; ++k) sibling[k - 1] = sibling_up.at(replicas.draw_partner(i, random)).data();
        const auto table = sampler.draw(random);
        combine_downward(table, n_parents, params.m, params.s, parent, sibling, out.at(i));
      });
}

std::vector<double> true_masses(const MessagePopulation& up) {
  std::vector<double> mass(static_cast<size_t>(up.count));
  for (int64_t i = 0; i < up.count; ++i) mass[static_cast<size_t>(i)] = up.at(i)[0];
  return mass;
}

PopulationMean mean_true_mass(const TheoryParams& params, const MessagePopulation& up) {
  return population_mean(true_masses(up), replicas_of(params));
}

}  // namespace

void validate(const TheoryParams& params) {
  GrammarParams grammar{params.v, params.n_classes, params.m, params.s, 1, 0};
  validate(grammar);
  if (params.population < 100)
    fail("population = {} is too small; give --population of at least 100 (100000 is typical)", params.population);
  if (params.population > (int64_t{1} << 34))
    fail("population = {} is too large; give --population of at most 2^34", params.population);
  if (params.replicas < 2 || params.replicas > params.population / 10)
    fail("replicas = {} must lie between 2 and population/10 = {}", params.replicas, params.population / 10);
}

double prediction_bytes(const TheoryParams& params, int max_depth) {
  const double message = 8.0 * static_cast<double>(params.population);
  return message * (static_cast<double>(params.v) * (max_depth + 3) + 2.0 * params.n_classes) +
         message * 2;  // per-member marginals
}

std::vector<LevelPrediction> predict_levels(const TheoryParams& params, double noise_level, std::span<const int> depths) {
  validate(params);
  validate(NoiseSpec{params.channel, noise_level});
  if (depths.empty()) fail("no depths given; give --depths, e.g. 2,4,6");
  const int max_depth = *std::max_element(depths.begin(), depths.end());
  for (int L : depths)
    if (L < 1 || L > 10000) fail("depth L = {} is out of range; give depths between 1 and 10000", L);
  check_memory(prediction_bytes(params, max_depth), "the density-evolution populations",
               "lower --population or the largest depth");

  // up[k]: upward messages of internal nodes at height k (k = 0: leaves).
  std::vector<MessagePopulation> up(static_cast<size_t>(max_depth));
  up[0] = leaf_population(params, noise_level);
  for (int k = 1; k < max_depth; ++k)
    upward_step(params, up[static_cast<size_t>(k) - 1], params.v, stage_code(Stage::up, 0, static_cast<uint64_t>(k)),
                up[static_cast<size_t>(k)]);

  const Replicas replicas = replicas_of(params);
  std::vector<LevelPrediction> rows;
  std::vector<double> marginal(static_cast<size_t>(params.population));
  for (int L : depths) {
    MessagePopulation root;
    upward_step(params, up[static_cast<size_t>(L) - 1], params.n_classes,
                stage_code(Stage::root, static_cast<uint64_t>(L)), root);
    const PopulationMean class_mass = mean_true_mass(params, root);
    rows.push_back({L, 0, class_mass.mean, class_mass.standard_error});

    // The root's downward message is the uniform prior over classes.
    MessagePopulation down(params.population, params.n_classes);
    std::fill(down.values.begin(), down.values.end(), 1.0 / params.n_classes);
    MessagePopulation next;
    for (int depth = 1; depth <= L; ++depth) {
      const MessagePopulation& own_up = up[static_cast<size_t>(L - depth)];
      downward_step(params, down, own_up, stage_code(Stage::down, static_cast<uint64_t>(L), static_cast<uint64_t>(depth)),
                    next);
      std::swap(down, next);
      parallel_for(params.population,
                   [&](int64_t i) { marginal[static_cast<size_t>(i)] = true_marginal(own_up.at(i), down.at(i)); });
      const PopulationMean mass = population_mean(marginal, replicas);
      rows.push_back({L, depth, mass.mean, mass.standard_error});
    }
  }
  return rows;
}

std::vector<FlowPoint> upward_flow(const TheoryParams& params, double noise_level, int max_height,
                                   const std::function<bool(const FlowPoint&, std::vector<bool>& frozen)>& keep_going) {
  validate(params);
  validate(NoiseSpec{params.channel, noise_level});
  if (max_height < 1 || max_height > 100000) fail("levels = {} is out of range; give between 1 and 100000", max_height);
  check_memory(16.0 * static_cast<double>(params.population) * params.v, "the density-evolution populations",
               "lower --population");
  std::vector<FlowPoint> points;
  MessagePopulation current = leaf_population(params, noise_level), next;
  std::vector<bool> frozen(static_cast<size_t>(replicas_of(params).replicas), false);
  for (int k = 0;; ++k) {
    if (k > 0) {
      upward_step(params, current, params.v, stage_code(Stage::up, 0, static_cast<uint64_t>(k)), next, &frozen);
      std::swap(current, next);
    }
    const auto mass = true_masses(current);
    points.push_back({k, population_mean(mass, replicas_of(params)), replica_means(mass, replicas_of(params))});
    const bool more = !keep_going || keep_going(points.back(), frozen);
    HDIFF_CHECK(frozen.size() == static_cast<size_t>(replicas_of(params).replicas));
    if (!more || k >= max_height) break;
  }
  return points;
}

}  // namespace hdiff
