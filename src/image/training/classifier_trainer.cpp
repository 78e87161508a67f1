#include "image/training/classifier_trainer.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/optim/adamw.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "common/error.h"
#include "common/output.h"
#include "common/progress.h"
#include "common/version.h"
#include "image/checkpoint/safetensors_writer.h"
#include "image/models/classifier_input.h"
#include "image/models/convnext.h"
#include "image/training/training_loop.h"
#include "libtorch/torch_bridge.h"
#include "libtorch/torch_state.h"

namespace hdiff::image {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kCheckpointFormat = "hdiff classifier checkpoint 1";
// Fashion-MNIST's training pixels, scaled to [0, 1]: mean and standard deviation.
constexpr double kPixelMean = 0.2860;
constexpr double kPixelStd = 0.3530;
// Separates the batch streams from every other use of RandomDomain::experiment.
constexpr uint64_t kBatchStreamTag = 0xC1A5517F1E7ULL;
constexpr int64_t kWarmupSteps = 100;
constexpr int64_t kTestBatch = 500;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// What a checkpoint must agree on to be continued: everything that shapes the weights.
std::string training_identity(const ClassifierTrainJob& job, int64_t steps, int64_t train_images) {
  nlohmann::ordered_json j;
  j["widths"] = job.widths;
  j["depths"] = job.depths;
  j["patch"] = job.patch;
  j["steps"] = steps;
  j["batch"] = job.batch;
  j["seed"] = job.seed;
  j["learning_rate"] = job.learning_rate;
  j["weight_decay"] = job.weight_decay;
  j["train_images"] = train_images;
  return j.dump();
}

// The peak rate after a linear warm-up, decaying to 0 along a cosine.
double learning_rate_at(const ClassifierTrainJob& job, int64_t step, int64_t steps) {
  const int64_t warmup = std::min<int64_t>(kWarmupSteps, std::max<int64_t>(1, steps / 10));
  if (step <= warmup) return job.learning_rate * static_cast<double>(step) / static_cast<double>(warmup);
  const double progress = static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, steps - warmup));
  return job.learning_rate * 0.5 * (1.0 + std::cos(M_PI * progress));
}

// Normalised float images (N, 1, H, W) of the given indices.
at::Tensor input_batch(const LabelledImages& set, const std::vector<int64_t>& indices, const at::Tensor& mean,
                       const at::Tensor& std, at::Tensor* labels) {
  const int64_t pixels = set.height * set.width;
  auto u8 = at::empty({static_cast<int64_t>(indices.size()), 1, set.height, set.width}, at::kByte);
  auto label = at::empty({static_cast<int64_t>(indices.size())}, at::kLong);
  auto* dst = u8.data_ptr<uint8_t>();
  for (size_t i = 0; i < indices.size(); ++i) {
    std::memcpy(dst + static_cast<int64_t>(i) * pixels, set.pixels.data() + indices[i] * pixels,
                static_cast<size_t>(pixels));
    label[static_cast<int64_t>(i)] = static_cast<int64_t>(set.labels[static_cast<size_t>(indices[i])]);
  }
  if (labels) *labels = label;
  // The same arithmetic as classifier_input on these images with the config written beside the weights.
  return (u8.to(at::kFloat) / 255.0 - mean) / std;
}

std::string adam_key(const at::Tensor& parameter) { return c10::guts::to_string(parameter.unsafeGetTensorImpl()); }

std::string checkpoint_bytes(ConvNeXt& net, const torch::optim::AdamW* adam, const ckpt::Metadata& metadata) {
  ckpt::TensorList tensors;
  for (const auto& [name, tensor] : net.named_tensors()) tensors.emplace_back(name, from_torch(tensor->detach()));
  if (adam)
    for (const auto& [name, tensor] : net.named_tensors()) {
      const auto found = adam->state().find(adam_key(*tensor));
      if (found == adam->state().end()) continue;
      const auto& state = static_cast<const torch::optim::AdamWParamState&>(*found->second);
      tensors.emplace_back("adamw." + name + ".exp_avg", from_torch(state.exp_avg()));
      tensors.emplace_back("adamw." + name + ".exp_avg_sq", from_torch(state.exp_avg_sq()));
      tensors.emplace_back("adamw." + name + ".step", from_torch(torch::tensor(state.step(), torch::kLong)));
    }
  return ckpt::safetensors_bytes(tensors, metadata);
}

// Loads OUT/checkpoint.safetensors into `net` and `adam`; returns its step.
int64_t load_training_checkpoint(const fs::path& path, const std::string& identity, ConvNeXt& net,
                                 torch::optim::AdamW& adam) {
  const auto metadata = ckpt::read_safetensors_metadata(path);
  const auto get = [&](const char* key) {
    const auto it = metadata.find(key);
    return it == metadata.end() ? std::string() : it->second;
  };
  if (get("format") != kCheckpointFormat)
    fail("{}: not a checkpoint of hdiff images train-classifier; give another --out, or --force to start again",
         path.string());
  if (get("training") != identity)
    fail("{}: a checkpoint of another training setup ({}); resume with the same options, or --force to start again",
         path.string(), get("training"));
  int64_t step = 0;
  try {
    step = std::stoll(get("step"));
  } catch (const std::exception&) {
    fail("{}: its metadata has no step number", path.string());
  }
  NamedTensors targets;
  std::vector<std::pair<at::Tensor*, std::string>> parameters;
  for (const auto& [name, tensor] : net.named_tensors()) {
    targets[name] = at::empty_like(*tensor);
    targets["adamw." + name + ".exp_avg"] = at::zeros_like(*tensor);
    targets["adamw." + name + ".exp_avg_sq"] = at::zeros_like(*tensor);
    targets["adamw." + name + ".step"] = at::zeros({}, at::kLong);
    parameters.emplace_back(tensor, name);
  }
  load_state(targets, ckpt::read_tensors(path), path.string(), "a checkpoint of hdiff images train-classifier");
  torch::NoGradGuard no_grad;
  for (const auto& [tensor, name] : parameters) {
    tensor->copy_(targets[name]);
    auto state = std::make_unique<torch::optim::AdamWParamState>();
    state->step(targets["adamw." + name + ".step"].item<int64_t>());
    state->exp_avg(targets["adamw." + name + ".exp_avg"]);
    state->exp_avg_sq(targets["adamw." + name + ".exp_avg_sq"]);
    adam.state()[adam_key(*tensor)] = std::move(state);
  }
  return step;
}

void check_job(const ClassifierTrainJob& job) {
  if (job.out.empty()) fail("give --out DIR");
  if (job.steps < 0) fail("--steps must not be negative, got {}", job.steps);
  if (job.steps == 0 && !(job.epochs > 0 && job.epochs <= 1000)) fail("--epochs must lie in (0, 1000], got {}", job.epochs);
  if (job.batch < 1 || job.batch > 65536) fail("--batch must lie in [1, 65536], got {}", job.batch);
  if (job.threads < 0) fail("--threads must not be negative, got {}", job.threads);
  if (!(job.learning_rate > 0) || !std::isfinite(job.learning_rate)) fail("the learning rate must be positive");
  if (job.widths.empty() || job.widths.size() != job.depths.size()) fail("give one depth per stage width");
  for (size_t i = 0; i < job.widths.size(); ++i)
    if (job.widths[i] < 1 || job.widths[i] > 1024 || job.depths[i] < 1 || job.depths[i] > 32)
      fail("stage widths lie in [1, 1024] and depths in [1, 32]");
  if (job.patch < 1 || job.patch > 16) fail("the stem's patch must lie in [1, 16], got {}", job.patch);
  if (job.train_limit < 0 || job.test_limit < 0) fail("the image limits must not be negative");
  if (job.checkpoint_every < 1) fail("--checkpoint-every must be at least 1, got {}", job.checkpoint_every);
  if (job.stop_at < 0) fail("--stop-at must not be negative, got {}", job.stop_at);
}

}  // namespace

ClassifierTrainOutcome run_train_classifier(const ClassifierTrainJob& job) {
  check_job(job);
  ClassifierTrainOutcome outcome;
  if (job.threads > 0) at::set_num_threads(job.threads);
  const fs::path checkpoint = job.out / kTrainingCheckpointName;
  const auto [have_checkpoint, existing] = check_training_output(job.out, job.resume, job.force);
  OutputDir out(job.out, existing, "hdiff images train-classifier");

  const auto train = first_images(read_fashion_mnist(job.data, "train"), job.train_limit);
  const auto test = first_images(read_fashion_mnist(job.data, "t10k"), job.test_limit);
  const int64_t steps =
      job.steps > 0 ? job.steps
                    : static_cast<int64_t>(std::ceil(job.epochs * static_cast<double>(train.count) /
                                                     static_cast<double>(job.batch)));
  outcome.steps = steps;
  const std::string identity = training_identity(job, steps, train.count);

  ConvNeXtLayout layout{job.widths, job.depths, kFashionMnistClasses, 1, job.patch};
  auto net = ConvNeXt::from_state_dict(convnext_initial_state(layout, job.seed), "the initial weights");
  const ClassifierPreprocess preprocess{train.height, train.height, 1, {kPixelMean}, {kPixelStd}};
  net.set_preprocess(preprocess, "the trainer");
  std::vector<at::Tensor> decay, no_decay;
  for (const auto& [name, tensor] : net.named_tensors()) {
    tensor->requires_grad_(true);
    outcome.parameters += tensor->numel();
    (tensor->dim() >= 2 && name.find("layer_scale") == std::string::npos ? decay : no_decay).push_back(*tensor);
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                 torch::optim::AdamWOptions(job.learning_rate).weight_decay(job.weight_decay)));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(
                                    torch::optim::AdamWOptions(job.learning_rate).weight_decay(0)));
  torch::optim::AdamW adam(std::move(groups));
  if (job.resume) {
    outcome.first_step = load_training_checkpoint(checkpoint, identity, net, adam);
  } else if (have_checkpoint) {
    fs::remove(checkpoint);  // --force: this run's checkpoints only
  }
  const auto mean = at::tensor({kPixelMean}, at::kFloat).view({1, 1, 1, 1});
  const auto std = at::tensor({kPixelStd}, at::kFloat).view({1, 1, 1, 1});
  const auto save = [&](int64_t step) {
    ckpt::Metadata metadata{{"format", kCheckpointFormat}, {"step", std::to_string(step)}, {"training", identity}};
    fs::create_directories(job.out);
    write_file_atomic(checkpoint, checkpoint_bytes(net, &adam, metadata));
  };

  install_interrupt_handler();
  BatchOrder order(job.seed, train.count, kBatchStreamTag);
  outcome.step = outcome.first_step;
  const auto start = Clock::now();
  {
    ProgressBar bar(steps - outcome.first_step, "train-classifier");
    double loss_sum = 0;
    int64_t loss_count = 0;
    for (int64_t step = outcome.first_step + 1; step <= steps; ++step) {
      at::Tensor labels;
      const auto x = input_batch(train, order.batch(step, job.batch), mean, std, &labels);
      const double rate = learning_rate_at(job, step, steps);
      for (auto& group : adam.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(rate);
      const auto loss = at::cross_entropy_loss(net.forward(x, nullptr, /*training=*/true), labels);
      const double value = loss.item<double>();
      if (!std::isfinite(value)) fail("the training loss became NaN at step {}; lower --learning-rate", step);
      adam.zero_grad();
      loss.backward();
      adam.step();
      outcome.step = step;
      loss_sum += value;
      ++loss_count;
      bar.advance();
      const bool stop = interrupted() || (job.stop_at > 0 && step >= job.stop_at);
      if (step % job.checkpoint_every == 0 || step == steps || stop) {
        save(step);
        outcome.last_loss = loss_sum / static_cast<double>(loss_count);
        const double elapsed = seconds_since(start);
        const double per_step = elapsed / static_cast<double>(step - outcome.first_step);
        if (elapsed >= 2.0)
          print_status(fmt::format("train-classifier: step {}/{}, loss {:.4f} (mean of the last {} steps), "
                                   "{:.2f} s/step, {:.0f} s to go",
                                   step, steps, outcome.last_loss, loss_count, per_step,
                                   per_step * static_cast<double>(steps - step)));
        loss_sum = 0;
        loss_count = 0;
      }
      if (stop) {
        outcome.interrupted = true;
        break;
      }
    }
    bar.finish();
  }
  outcome.train_seconds = seconds_since(start);
  if (outcome.interrupted) return outcome;

  // Test accuracy with the inference path the probe uses.
  std::vector<int64_t> right_per_class(kFashionMnistClasses), per_class(kFashionMnistClasses);
  int64_t right = 0;
  for (int64_t begin = 0; begin < test.count; begin += kTestBatch) {
    std::vector<int64_t> indices;
    for (int64_t i = begin; i < std::min(test.count, begin + kTestBatch); ++i) indices.push_back(i);
    at::Tensor labels;
    const auto predicted = net.forward(input_batch(test, indices, mean, std, &labels)).argmax(1);
    for (size_t i = 0; i < indices.size(); ++i) {
      const auto label = labels[static_cast<int64_t>(i)].item<int64_t>();
      const bool ok = predicted[static_cast<int64_t>(i)].item<int64_t>() == label;
      right += ok;
      right_per_class[static_cast<size_t>(label)] += ok;
      ++per_class[static_cast<size_t>(label)];
    }
  }
  outcome.test_images = test.count;
  outcome.test_accuracy = static_cast<double>(right) / static_cast<double>(test.count);

  ckpt::Metadata metadata{{"format", "hdiff classifier 1"}, {"training", identity}};
  out.write("classifier.safetensors", checkpoint_bytes(net, nullptr, metadata));
  auto config = nlohmann::ordered_json::parse(classifier_config_json(preprocess));
  config["architecture"] = {{"kind", "convnext"}, {"widths", job.widths}, {"depths", job.depths},
                            {"patch", job.patch}, {"in_channels", 1}, {"num_classes", kFashionMnistClasses}};
  config["classes"] = fashion_mnist_class_names();
  config["training"] = nlohmann::ordered_json::parse(identity);
  out.write("classifier.json", config.dump(2) + "\n");
  nlohmann::ordered_json accuracy;
  accuracy["test_accuracy"] = outcome.test_accuracy;
  accuracy["test_images"] = test.count;
  std::vector<double> class_accuracy;
  for (int c = 0; c < kFashionMnistClasses; ++c)
    class_accuracy.push_back(per_class[static_cast<size_t>(c)] ? static_cast<double>(right_per_class[static_cast<size_t>(c)]) /
                                                                   static_cast<double>(per_class[static_cast<size_t>(c)])
                                                             : 0.0);
  accuracy["per_class_accuracy"] = class_accuracy;
  accuracy["final_training_loss"] = outcome.last_loss;
  accuracy["steps"] = steps;
  accuracy["train_images"] = train.count;
  accuracy["parameters"] = outcome.parameters;
  accuracy["threads"] = at::get_num_threads();
  accuracy["train_seconds_this_run"] = outcome.train_seconds;
  accuracy["hdiff_version"] = version();
  accuracy["git_commit"] = git_commit();
  out.write("accuracy.json", accuracy.dump(2) + "\n");
  out.commit();
  return outcome;
}

}  // namespace hdiff::image
