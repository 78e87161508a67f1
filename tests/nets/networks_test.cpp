// The networks, losses, denoiser and checkpoints of src/nets on tiny models.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/output.h"
#include "denoiser/measure.h"
#include "grammar/sampling.h"
#include "image/checkpoint/checkpoint.h"
#include "nets/losses.h"
#include "nets/net_checkpoint.h"
#include "nets/net_denoiser.h"
#include "nets/networks.h"
#include "nets/training_batch.h"
#include "support/helpers.h"

using namespace hdiff;
using namespace hdiff::nets;
using hdiff::testing::error_of;
using hdiff::testing::fresh_folder;

namespace {

NetConfig tiny(const std::string& architecture = "unet", Channel process = Channel::mask) {
  NetConfig c = parse_net_config("", "test");
  c.grammar = {4, 4, 2, 2, 2, 3};
  c.samples = 64;
  c.architecture = architecture;
  c.process = process;
  c.uniform_steps = 20;
  c.width = 16;
  c.blocks = 1;
  c.layers = 1;
  c.heads = 2;
  c.batch = 32;
  c.learning_rate = 3e-3;
  return c;
}

std::vector<uint32_t> tokens_of(const NetConfig& c, int64_t count) {
  const Grammar g = make_random_grammar(c.grammar);
  const int64_t d = sequence_length(c.grammar), offset = level_offset(c.grammar, c.grammar.L);
  std::vector<uint32_t> out;
  std::vector<uint32_t> tree(static_cast<size_t>(tree_size(c.grammar)));
  for (int64_t n = 0; n < count; ++n) {
    sample_tree(g, 0, n, tree);
    out.insert(out.end(), tree.begin() + offset, tree.begin() + offset + d);
  }
  return out;
}

// A stand-in network whose logits are fixed, for the loss formulas.
struct FixedLogits : TokenNetwork {
  explicit FixedLogits(at::Tensor logits) : logits_(std::move(logits)) {}
  at::Tensor forward(const at::Tensor&, const at::Tensor&) override { return logits_; }
  at::Tensor logits_;
};

}  // namespace

TEST(Networks, ForwardShapesForEveryArchitectureAndProcess) {
  for (const char* architecture : {"unet", "transformer"})
    for (Channel process : {Channel::mask, Channel::uniform}) {
      const NetConfig c = tiny(architecture, process);
      torch::manual_seed(0);
      auto net = make_network(c);
      const at::Tensor tokens = torch::randint(0, c.grammar.v, {5, 4}, torch::kLong);
      const at::Tensor logits = net->forward(tokens, torch::full({5}, 0.3f));
      EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{5, 4, 4})) << architecture;
      EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
    }
}

TEST(Networks, TreeUnetIsMadeOfTheDocumentedLayers) {
  // v = 4, s = 2, L = 2, w = 16, one block per level, mask input v + 1 = 5.
  const NetConfig c = tiny();
  auto net = make_network(c);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& p : net->named_parameters()) shapes[p.key()] = p.value().sizes().vec();
  EXPECT_EQ(shapes.at("embed.weight"), (std::vector<int64_t>{16, 5}));
  EXPECT_EQ(shapes.at("down.0.merge.weight"), (std::vector<int64_t>{16, 32}));  // s·w → w
  EXPECT_EQ(shapes.at("up.1.split.weight"), (std::vector<int64_t>{32, 16}));    // w → s·w
  EXPECT_EQ(shapes.at("down.1.blocks.0.fc1.weight"), (std::vector<int64_t>{16, 16}));
  EXPECT_EQ(shapes.at("noise.fc1.weight"), (std::vector<int64_t>{16, 1}));
  EXPECT_EQ(shapes.at("out.weight"), (std::vector<int64_t>{4, 16}));
  // Per level: blocks down and up (2·(2·(w²+w) + 2w)), merge (s·w·w + w), split (w·s·w + s·w), two norms (4w);
  // root blocks; embedding 5w + w; noise MLP (w + w) + (w² + w); output 4w + 4.
  const int64_t w = 16, block = 2 * (w * w + w) + 2 * w;
  const int64_t level = 2 * block + (2 * w * w + w) + (2 * w * w + 2 * w) + 4 * w;
  EXPECT_EQ(parameter_count(*net), 2 * level + block + (5 * w + w) + (2 * w + w * w + w) + (4 * w + 4));
  // Without the noise embedding the output ignores the level; with it, it does not.
  NetConfig plain = c;
  plain.time_embedding = false;
  auto flat = make_network(plain);
  const at::Tensor tokens = torch::randint(0, 5, {3, 4}, torch::kLong);
  EXPECT_TRUE(torch::equal(flat->forward(tokens, torch::full({3}, 0.1f)), flat->forward(tokens, torch::full({3}, 0.9f))));
  EXPECT_FALSE(torch::equal(net->forward(tokens, torch::full({3}, 0.1f)), net->forward(tokens, torch::full({3}, 0.9f))));
}

TEST(Networks, UniformInputIsTheSoftenedOneHot) {
  const at::Tensor x = encode_tokens(torch::tensor({{2, 0}}, torch::kLong), torch::tensor({0.4f}), Channel::uniform, 4);
  EXPECT_NEAR(x[0][0][2].item<float>(), 0.6 + 0.1, 1e-6);
  EXPECT_NEAR(x[0][0][1].item<float>(), 0.1, 1e-6);
  EXPECT_NEAR(x.sum(-1)[0][1].item<float>(), 1.0, 1e-6);
  const at::Tensor m = encode_tokens(torch::tensor({{4, 0}}, torch::kLong), torch::tensor({0.4f}), Channel::mask, 4);
  EXPECT_EQ(m.size(-1), 5);
  EXPECT_EQ(m[0][0][4].item<float>(), 1.0f);
}

TEST(Losses, MaskedLossByHand) {
  // One row, d = 2, v = 2, t = 0.5: position 0 masked (x₀ = 1), position 1 not.
  const at::Tensor logits = torch::tensor({{{0.0, std::log(3.0)}, {5.0, -5.0}}}, torch::kDouble);
  const at::Tensor loss = masked_loss(logits, torch::tensor({{1, 0}}, torch::kLong), torch::tensor({{true, false}}),
                                      torch::tensor({0.5}, torch::kDouble));
  // (1/t)·(−log 3/4)/d = 2·log(4/3)/2.
  EXPECT_NEAR(loss.item<double>(), std::log(4.0 / 3.0), 1e-12);
  // Two rows are averaged; an all-unmasked row counts 0.
  const at::Tensor two = masked_loss(torch::cat({logits, logits}), torch::tensor({{1, 0}, {1, 0}}, torch::kLong),
                                     torch::tensor({{true, false}, {false, false}}),
                                     torch::tensor({0.5, 0.25}, torch::kDouble));
  EXPECT_NEAR(two.item<double>(), std::log(4.0 / 3.0) / 2, 1e-12);
}

TEST(Losses, TensorReverseStepEqualsUniformReverseStep) {
  const UniformSchedule schedule = uniform_schedule(50);
  const int v = 5;
  torch::manual_seed(1);
  const at::Tensor p0 = torch::softmax(torch::randn({3, 2, v}, torch::kDouble), -1);
  const at::Tensor observed = torch::tensor({{0, 4}, {2, 2}, {1, 3}}, torch::kLong);
  const std::vector<int> ks = {1, 17, 50};
  std::vector<double> beta, before;
  for (int k : ks) {
    beta.push_back(schedule.betas[static_cast<size_t>(k - 1)]);
    before.push_back(schedule.alpha_bars[static_cast<size_t>(k - 1)]);
  }
  const at::Tensor got = uniform_reverse_distribution(p0, observed, torch::tensor(beta, torch::kDouble),
                                                      torch::tensor(before, torch::kDouble));
  for (int r = 0; r < 3; ++r)
    for (int i = 0; i < 2; ++i) {
      std::vector<double> log_p0(v), expected(v);
      for (int a = 0; a < v; ++a) log_p0[a] = std::log(p0[r][i][a].item<double>());
      uniform_reverse_step(schedule, ks[static_cast<size_t>(r)], v,
                           static_cast<uint32_t>(observed[r][i].item<int64_t>()), log_p0, expected);
      for (int c = 0; c < v; ++c) EXPECT_NEAR(got[r][i][c].item<double>(), expected[c], 1e-6) << r << i << c;
    }
}

TEST(Losses, UniformLossIsKlAboveStepOneAndCrossEntropyAtIt) {
  const UniformSchedule schedule = uniform_schedule(20);
  const at::Tensor logits = torch::tensor({{{0.3, -1.0, 2.0}}, {{0.3, -1.0, 2.0}}}, torch::kDouble);
  const at::Tensor clean = torch::tensor({{1}, {1}}, torch::kLong), observed = torch::tensor({{2}, {2}}, torch::kLong);
  const at::Tensor log_p = torch::log_softmax(logits, -1);
  const double ce = -log_p[0][0][1].item<double>();
  // k = 1 in both rows: the loss is (1 + λ)·CE.
  const at::Tensor first = uniform_loss(logits, clean, observed, torch::tensor({1, 1}, torch::kLong),
                                        torch::tensor({schedule.betas[0], schedule.betas[0]}, torch::kDouble),
                                        torch::tensor({1.0, 1.0}, torch::kDouble), 0.5);
  EXPECT_NEAR(first.item<double>(), 1.5 * ce, 1e-12);
  // k = 10: KL(q(·|x_k, x₀) ‖ p_θ) computed from uniform_reverse_step.
  const int k = 10, v = 3;
  std::vector<double> lp(v), predicted(v), truth(v), onehot(v, -INFINITY);
  for (int a = 0; a < v; ++a) lp[a] = log_p[0][0][a].item<double>();
  onehot[1] = 0;
  uniform_reverse_step(schedule, k, v, 2, lp, predicted);
  uniform_reverse_step(schedule, k, v, 2, onehot, truth);
  double kl = 0;
  for (int c = 0; c < v; ++c) kl += truth[c] > 0 ? truth[c] * std::log(truth[c] / predicted[c]) : 0;
  const double b = schedule.betas[k - 1], before = schedule.alpha_bars[k - 1];
  const at::Tensor later = uniform_loss(logits, clean, observed, torch::tensor({k, k}, torch::kLong),
                                        torch::tensor({b, b}, torch::kDouble), torch::tensor({before, before}, torch::kDouble), 0.0);
  EXPECT_NEAR(later.item<double>(), kl, 1e-9);
}

TEST(Training, FiftyStepsLowerTheLoss) {
  for (Channel process : {Channel::mask, Channel::uniform}) {
    NetConfig c = tiny("unet", process);
    const auto training = tokens_of(c, c.samples);
    const UniformSchedule schedule = uniform_schedule(c.uniform_steps);
    torch::manual_seed(0);
    auto net = make_network(c);
    torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(3e-3));
    const auto mean_loss = [&](int64_t from) {  // over 20 fixed batches, without learning
      torch::NoGradGuard no_grad;
      double sum = 0;
      for (int64_t s = from; s < from + 20; ++s) {
        const TrainingBatch b = draw_training_batch(c, training, s, schedule.alpha_bars);
        const at::Tensor clean = torch::tensor(b.clean).reshape({b.rows, b.length});
        const at::Tensor noisy = torch::tensor(b.noisy).reshape({b.rows, b.length});
        const at::Tensor noise = torch::tensor(b.noise);
        const at::Tensor logits = net->forward(noisy, noise);
        sum += process == Channel::mask
                   ? masked_loss(logits, clean, noisy == c.grammar.v, noise).item<double>()
                   : torch::nn::functional::cross_entropy(logits.reshape({-1, c.grammar.v}), clean.reshape({-1}))
                         .item<double>();
      }
      return sum / 20;
    };
    const double before = mean_loss(100000);
    for (int64_t step = 1; step <= 60; ++step) {
      const TrainingBatch b = draw_training_batch(c, training, step, schedule.alpha_bars);
      const at::Tensor clean = torch::tensor(b.clean).reshape({b.rows, b.length});
      const at::Tensor noisy = torch::tensor(b.noisy).reshape({b.rows, b.length});
      const at::Tensor noise = torch::tensor(b.noise);
      at::Tensor loss = process == Channel::mask
                            ? masked_loss(net->forward(noisy, noise), clean, noisy == c.grammar.v, noise)
                            : torch::nn::functional::cross_entropy(
                                  net->forward(noisy, noise).reshape({-1, c.grammar.v}), clean.reshape({-1}));
      adam.zero_grad();
      loss.backward();
      adam.step();
    }
    EXPECT_LT(mean_loss(100000), 0.9 * before) << channel_name(process);
  }
}

TEST(Training, BatchesArePureFunctionsOfSeedStepAndRow) {
  NetConfig c = tiny();
  const auto training = tokens_of(c, c.samples);
  const TrainingBatch a = draw_training_batch(c, training, 7, {});
  const TrainingBatch b = draw_training_batch(c, training, 7, {});
  EXPECT_EQ(a.noisy, b.noisy);
  EXPECT_EQ(a.noise, b.noise);
  EXPECT_NE(a.noisy, draw_training_batch(c, training, 8, {}).noisy);
  // Antithetic levels: B evenly spaced values (mod 1).
  std::vector<float> sorted = a.noise;
  std::sort(sorted.begin(), sorted.end());
  for (size_t r = 1; r < sorted.size(); ++r) EXPECT_NEAR(sorted[r] - sorted[r - 1], 1.0 / c.batch, 1e-3);
}

TEST(NetDenoiser, CopiesUnmaskedTokensThroughAndNormalises) {
  const NetConfig c = tiny();
  auto net = make_network(c);
  const TokenDenoiser denoiser = network_denoiser(net, Channel::mask, 4);
  const std::vector<uint32_t> tokens = {4, 1, 4, 3, 0, 4, 4, 4};
  const std::vector<double> noise = {0.5, 0.75};
  std::vector<double> out(2 * 4 * 4);
  denoiser({Channel::mask, 4, 2, 4, tokens, noise}, out);
  for (int i = 0; i < 8; ++i) {
    double total = 0;
    for (int a = 0; a < 4; ++a) total += std::exp(out[static_cast<size_t>(i * 4 + a)]);
    EXPECT_NEAR(total, 1.0, 1e-6);
    if (tokens[static_cast<size_t>(i)] < 4) {
      EXPECT_EQ(out[static_cast<size_t>(i * 4) + tokens[static_cast<size_t>(i)]], 0.0);
      EXPECT_EQ(std::count(out.begin() + i * 4, out.begin() + i * 4 + 4, -INFINITY), 3);
    }
  }
  EXPECT_NE(error_of([&] { denoiser({Channel::uniform, 4, 2, 4, tokens, noise}, out); }).find("mask"),
            std::string::npos);
}

TEST(Checkpoints, RoundTripAndRefusals) {
  const auto folder = fresh_folder("nets_checkpoint");
  NetConfig c = tiny();
  torch::manual_seed(3);
  auto net = make_network(c);
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-3));
  at::Tensor loss = net->forward(torch::zeros({2, 4}, torch::kLong), torch::full({2}, 0.5f)).square().mean();
  loss.backward();
  adam.step();
  const std::string bytes = checkpoint_bytes(*net, &adam, checkpoint_metadata(c, 1, "x"));
  write_file_atomic(folder / checkpoint_name(1), bytes);
  EXPECT_EQ(list_checkpoints(folder).size(), 1u);
  torch::manual_seed(4);
  auto other = make_network(c);
  torch::optim::Adam other_adam(other->parameters(), torch::optim::AdamOptions(1e-3));
  EXPECT_EQ(load_checkpoint(folder / checkpoint_name(1), c, *other, &other_adam), 1);
  EXPECT_EQ(checkpoint_bytes(*other, &other_adam, checkpoint_metadata(c, 1, "x")), bytes);
  NetConfig grammar = c;
  grammar.grammar.seed = 9;
  EXPECT_NE(error_of([&] { load_checkpoint(folder / checkpoint_name(1), grammar, *other, nullptr); })
                .find("another grammar"),
            std::string::npos);
  NetConfig process = c;
  process.process = Channel::uniform;
  EXPECT_NE(error_of([&] { load_checkpoint(folder / checkpoint_name(1), process, *other, nullptr); })
                .find("another process"),
            std::string::npos);
}
