// Training steps per second of `hdiff net train`'s default network (the tree
// U-Net of the default config: masked diffusion, v = 8, L = 3, width 128,
// batch 128) at 1 and 2 LibTorch threads: one step is the minibatch draw, the
// forward pass, the MDLM loss, the backward pass and Adam. bench/net_train_pytorch.py
// times the same architecture in PyTorch; bench/net_train_compare.sh runs both.

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "grammar/sampling.h"
#include "nets/losses.h"
#include "nets/networks.h"
#include "nets/training_batch.h"

namespace hdiff::nets {
namespace {

void BM_TrainStep(benchmark::State& state) {
  torch::set_num_threads(static_cast<int>(state.range(0)));
  const NetConfig config = parse_net_config("", "default config");
  const Grammar grammar = make_random_grammar(config.grammar);
  const int64_t d = sequence_length(config.grammar), offset = level_offset(config.grammar, config.grammar.L);
  const SampleBatch samples = sample_batch(grammar, config.data_seed, 0, config.samples);
  std::vector<uint32_t> training;
  for (int64_t n = 0; n < samples.count; ++n) {
    const auto tree = samples.tree(n);
    training.insert(training.end(), tree.begin() + offset, tree.begin() + offset + d);
  }
  const UniformSchedule schedule = uniform_schedule(config.uniform_steps);
  torch::manual_seed(0);
  const auto net = make_network(config);
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(config.learning_rate));
  int64_t step = 0;
  for (auto _ : state) {
    const TrainingBatch batch = draw_training_batch(config, training, ++step, schedule.alpha_bars);
    const at::Tensor loss = batch_loss(*net, config, batch, schedule);
    adam.zero_grad();
    loss.backward();
    adam.step();
    benchmark::DoNotOptimize(loss.item<double>());
  }
  state.counters["steps/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TrainStep)->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->MinTime(5.0)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace hdiff::nets

BENCHMARK_MAIN();
