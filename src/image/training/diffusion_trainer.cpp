// DDPM training of the ADM U-Net on Fashion-MNIST: the loop, its checkpoints
// and the three files of a finished run (see diffusion_trainer.h).

#include "image/training/diffusion_trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>

#include "common/error.h"
#include "common/output.h"
#include "common/progress.h"
#include "common/random.h"
#include "common/version.h"
#include "image/checkpoint/safetensors_writer.h"
#include "image/diffusion/diffusion_schedule.h"
#include "image/models/adm_unet.h"
#include "image/training/training_loop.h"
#include "libtorch/torch_bridge.h"
#include "libtorch/torch_state.h"
#include "noise/schedule.h"

namespace hdiff::image {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kCheckpointFormat = "hdiff diffusion checkpoint 1";
// Separate the batch order and the per-step draws from every other use of RandomDomain::experiment.
constexpr uint64_t kBatchStreamTag = 0xD1FF0BA7C4ULL;
constexpr uint64_t kStepStreamTag = 0xD1FF057E95ULL;
constexpr int64_t kLogEvery = 100;
constexpr int kImageSide = 28;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string number_list(const std::vector<double>& values) { return fmt::format("{}", fmt::join(values, ",")); }
std::string number_list(const std::vector<int>& values) { return fmt::format("{}", fmt::join(values, ",")); }

// The network and diffusion of the job as guided-diffusion flags.
AdmConfig model_config(const DiffusionTrainJob& job) {
  AdmConfig c;
  c.image_size = kImageSide;
  c.in_channels = 1;
  c.num_channels = job.num_channels;
  c.channel_mult = job.channel_mult;
  c.num_res_blocks = job.num_res_blocks;
  c.attention_resolutions = job.attention_resolutions;
  c.num_head_channels = job.num_head_channels;
  c.learn_sigma = false;
  c.class_cond = false;
  c.use_scale_shift_norm = true;
  c.resblock_updown = false;
  c.use_fp16 = false;
  c.diffusion_steps = job.diffusion_steps;
  c.noise_schedule = job.noise_schedule;
  c.timestep_respacing = job.timestep_respacing;
  return c;
}

// The flags file read_adm_config reads (strings as guided-diffusion's argparse writes them).
nlohmann::ordered_json flags_json(const AdmConfig& c) {
  nlohmann::ordered_json j;
  j["image_size"] = c.image_size;
  j["in_channels"] = c.in_channels;
  j["num_channels"] = c.num_channels;
  j["num_res_blocks"] = c.num_res_blocks;
  j["channel_mult"] = number_list(c.channel_mult);
  j["attention_resolutions"] = number_list(c.attention_resolutions);
  j["num_heads"] = c.num_heads;
  j["num_head_channels"] = c.num_head_channels;
  j["num_heads_upsample"] = c.num_heads_upsample;
  j["learn_sigma"] = c.learn_sigma;
  j["class_cond"] = c.class_cond;
  j["use_scale_shift_norm"] = c.use_scale_shift_norm;
  j["resblock_updown"] = c.resblock_updown;
  j["use_new_attention_order"] = c.use_new_attention_order;
  j["use_fp16"] = c.use_fp16;
  j["dropout"] = 0.0;
  j["diffusion_steps"] = c.diffusion_steps;
  j["noise_schedule"] = c.noise_schedule;
  j["timestep_respacing"] = c.timestep_respacing;
  j["sigma_small"] = c.sigma_small;
  j["predict_xstart"] = c.predict_xstart;
  j["rescale_timesteps"] = c.rescale_timesteps;
  return j;
}

// What a checkpoint must agree on to be continued: everything that shapes the weights but the step count.
std::string training_identity(const DiffusionTrainJob& job, const AdmConfig& config, int64_t train_images) {
  nlohmann::ordered_json j;
  j["model"] = flags_json(config);
  j["batch"] = job.batch;
  j["seed"] = job.seed;
  j["learning_rate"] = job.learning_rate;
  j["warmup_steps"] = job.warmup_steps;
  j["ema_rate"] = job.ema_rate;
  j["grad_clip"] = job.grad_clip;
  j["train_images"] = train_images;
  return j.dump();
}

void check_job(const DiffusionTrainJob& job) {
  if (job.out.empty()) fail("give --out DIR");
  if (job.steps < 0) fail("--steps must not be negative, got {}", job.steps);
  if (!(job.minutes >= 0 && job.minutes <= 1e6)) fail("--minutes must lie in [0, 1e6], got {}", job.minutes);
  if (job.steps == 0 && job.minutes == 0) fail("give --steps N or --minutes M (or both: whichever ends first)");
  if (job.batch < 1 || job.batch > 4096) fail("--batch must lie in [1, 4096], got {}", job.batch);
  if (job.threads < 0 || job.threads > 1024) fail("--threads must lie in [0, 1024], got {}", job.threads);
  if (!(job.learning_rate > 0 && job.learning_rate < 1)) fail("--learning-rate must lie in (0, 1), got {}", job.learning_rate);
  if (job.warmup_steps < 0) fail("--warmup-steps must not be negative, got {}", job.warmup_steps);
  if (!(job.ema_rate >= 0 && job.ema_rate < 1)) fail("--ema-rate must lie in [0, 1), got {}", job.ema_rate);
  if (!(job.grad_clip >= 0 && std::isfinite(job.grad_clip))) fail("--grad-clip must not be negative, got {}", job.grad_clip);
  if (job.num_channels < 32 || job.num_channels > 1024 || job.num_channels % 32 != 0)
    fail("--num-channels must be a multiple of 32 in [32, 1024] (GroupNorm has 32 groups), got {}", job.num_channels);
  if (job.channel_mult.empty() || job.channel_mult.size() > 3)
    fail("--channel-mult needs 1 to 3 levels (28 -> 14 -> 7), got {}", job.channel_mult.size());
  for (double m : job.channel_mult)
    if (!(m >= 1 && m <= 8) || m != std::floor(m)) fail("--channel-mult takes whole numbers in [1, 8], got {}", m);
  if (job.num_res_blocks < 1 || job.num_res_blocks > 8) fail("--num-res-blocks must lie in [1, 8], got {}", job.num_res_blocks);
  for (int r : job.attention_resolutions) {
    bool found = false;
    for (size_t level = 0; level < job.channel_mult.size(); ++level) found = found || r == (kImageSide >> level);
    if (!found)
      fail("--attention-resolutions {} is not a feature-map side of this network (28, then halved per level)", r);
  }
  if (job.num_head_channels < 1 || job.num_channels % job.num_head_channels != 0)
    fail("--num-head-channels must divide --num-channels, got {}", job.num_head_channels);
  if (job.diffusion_steps < 2 || job.diffusion_steps > 100000)
    fail("--diffusion-steps must lie in [2, 100000], got {}", job.diffusion_steps);
  if (job.noise_schedule != "linear" && job.noise_schedule != "cosine")
    fail("--schedule must be linear or cosine, got '{}'", job.noise_schedule);
  (void)space_timesteps(job.diffusion_steps, job.timestep_respacing);
  if (job.train_limit < 0) fail("--train-limit must not be negative, got {}", job.train_limit);
  if (job.checkpoint_every < 1) fail("--checkpoint-every must be at least 1, got {}", job.checkpoint_every);
  if (job.stop_at < 0) fail("--stop-at must not be negative, got {}", job.stop_at);
}

// guided-diffusion's zero_module: the last convolution of every residual branch,
// every attention projection and the output convolution start at zero, so the
// network starts as the identity plus a zero prediction.
void zero_output_layers(torch::nn::Module& net) {
  torch::NoGradGuard no_grad;
  for (auto& p : net.named_parameters()) {
    const std::string& name = p.key();
    const auto ends = [&](const std::string& tail) {
      return name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
    };
    if (ends("out_layers.3.weight") || ends("out_layers.3.bias") || ends("proj_out.weight") ||
        ends("proj_out.bias") || name == "out.2.weight" || name == "out.2.bias")
      p.value().zero_();
  }
}

std::string adam_key(const at::Tensor& parameter) { return c10::guts::to_string(parameter.unsafeGetTensorImpl()); }

struct TrainState {
  std::vector<std::pair<std::string, at::Tensor>> parameters;  // the network's, by state-dict name
  std::vector<at::Tensor> ema;                                 // one per parameter
};

std::string checkpoint_bytes(const TrainState& state, const torch::optim::Adam& adam, const ckpt::Metadata& metadata) {
  ckpt::TensorList tensors;
  for (size_t i = 0; i < state.parameters.size(); ++i) {
    const auto& [name, tensor] = state.parameters[i];
    tensors.emplace_back("model." + name, from_torch(tensor.detach()));
    tensors.emplace_back("ema." + name, from_torch(state.ema[i]));
    const auto found = adam.state().find(adam_key(tensor));
    if (found == adam.state().end()) continue;
    const auto& s = static_cast<const torch::optim::AdamParamState&>(*found->second);
    tensors.emplace_back("adam." + name + ".exp_avg", from_torch(s.exp_avg()));
    tensors.emplace_back("adam." + name + ".exp_avg_sq", from_torch(s.exp_avg_sq()));
    tensors.emplace_back("adam." + name + ".step", from_torch(torch::tensor(s.step(), torch::kLong)));
  }
  return ckpt::safetensors_bytes(tensors, metadata);
}

struct Resumed {
  int64_t step = 0;
  double seconds = 0;  // training time of the earlier runs
};

// Loads OUT/checkpoint.safetensors into the state and `adam`.
Resumed load_training_checkpoint(const fs::path& path, const std::string& identity, TrainState& state,
                                 torch::optim::Adam& adam) {
  const auto metadata = ckpt::read_safetensors_metadata(path);
  const auto get = [&](const char* key) {
    const auto it = metadata.find(key);
    return it == metadata.end() ? std::string() : it->second;
  };
  if (get("format") != kCheckpointFormat)
    fail("{}: not a checkpoint of hdiff images train-diffusion; give another --out, or --force to start again",
         path.string());
  if (get("training") != identity)
    fail("{}: a checkpoint of another training setup ({}); resume with the same options, or --force to start again",
         path.string(), get("training"));
  Resumed resumed;
  try {
    resumed.step = std::stoll(get("step"));
    resumed.seconds = std::stod(get("seconds"));
  } catch (const std::exception&) {
    fail("{}: its metadata has no step number or training time", path.string());
  }
  if (resumed.step < 1) fail("{}: its step number {} is not positive", path.string(), resumed.step);
  NamedTensors targets;
  // Adam keeps no state for a parameter whose gradient never existed; every one here has a gradient from step 1.
  for (const auto& [name, tensor] : state.parameters) {
    targets["model." + name] = at::empty_like(tensor);
    targets["ema." + name] = at::empty_like(tensor);
    targets["adam." + name + ".exp_avg"] = at::empty_like(tensor);
    targets["adam." + name + ".exp_avg_sq"] = at::empty_like(tensor);
    targets["adam." + name + ".step"] = at::zeros({}, at::kLong);
  }
  load_state(targets, ckpt::read_tensors(path), path.string(), "a checkpoint of hdiff images train-diffusion");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < state.parameters.size(); ++i) {
    auto& [name, tensor] = state.parameters[i];
    tensor.copy_(targets["model." + name]);
    state.ema[i].copy_(targets["ema." + name]);
    auto s = std::make_unique<torch::optim::AdamParamState>();
    s->step(targets["adam." + name + ".step"].item<int64_t>());
    s->exp_avg(targets["adam." + name + ".exp_avg"]);
    s->exp_avg_sq(targets["adam." + name + ".exp_avg_sq"]);
    adam.state()[adam_key(tensor)] = std::move(s);
  }
  return resumed;
}

// The training images of a batch, scaled to [-1, 1] as to_planar_pm1 scales a grey PNG.
at::Tensor image_batch(const LabelledImages& set, const std::vector<int64_t>& indices) {
  const int64_t pixels = set.height * set.width;
  auto u8 = at::empty({static_cast<int64_t>(indices.size()), 1, set.height, set.width}, at::kByte);
  auto* dst = u8.data_ptr<uint8_t>();
  for (size_t i = 0; i < indices.size(); ++i)
    std::memcpy(dst + static_cast<int64_t>(i) * pixels, set.pixels.data() + indices[i] * pixels,
                static_cast<size_t>(pixels));
  return u8.to(at::kFloat) / 127.5 - 1.0;
}

}  // namespace

std::string retrain_command(const DiffusionTrainJob& job, int64_t steps) {
  std::string command = fmt::format(
      "hdiff images train-diffusion --out DIR --steps {} --batch {} --seed {} --threads {} --learning-rate {} "
      "--warmup-steps {} --ema-rate {} --grad-clip {} --num-channels {} --channel-mult {} --num-res-blocks {} "
      "--attention-resolutions {} --num-head-channels {} --schedule {} --diffusion-steps {} --respacing {}",
      steps, job.batch, job.seed, job.threads, job.learning_rate, job.warmup_steps, job.ema_rate, job.grad_clip,
      job.num_channels, number_list(job.channel_mult), job.num_res_blocks, number_list(job.attention_resolutions),
      job.num_head_channels, job.noise_schedule, job.diffusion_steps,
      job.timestep_respacing.empty() ? "''" : job.timestep_respacing);
  if (job.train_limit > 0) command += fmt::format(" --train-limit {}", job.train_limit);
  if (job.data != fs::path(kFashionMnistDir)) command += " --data " + job.data.string();
  return command;
}

DiffusionTrainOutcome run_train_diffusion(const DiffusionTrainJob& job) {
  check_job(job);
  DiffusionTrainOutcome outcome;
  if (job.threads > 0) at::set_num_threads(job.threads);
  const fs::path checkpoint = job.out / kTrainingCheckpointName;
  const auto [have_checkpoint, existing] = check_training_output(job.out, job.resume, job.force);
  OutputDir out(job.out, existing, "hdiff images train-diffusion");

  const auto train = first_images(read_fashion_mnist(job.data, "train"), job.train_limit);
  if (train.height != kImageSide || train.width != kImageSide)
    fail("{}: the training images are {}x{}; the network is built for {}x{}", job.data.string(), train.width,
         train.height, kImageSide, kImageSide);
  const AdmConfig config = model_config(job);
  const std::string identity = training_identity(job, config, train.count);

  torch::manual_seed(job.seed);
  AdmUnet net(config);
  zero_output_layers(net.module());
  net.module().train();
  TrainState state;
  std::vector<at::Tensor> parameters;
  for (auto& p : net.module().named_parameters()) {
    state.parameters.emplace_back(p.key(), p.value());
    state.ema.push_back(p.value().detach().clone());
    parameters.push_back(p.value());
    outcome.parameters += p.value().numel();
  }
  torch::optim::Adam adam(parameters, torch::optim::AdamOptions(job.learning_rate));
  Resumed resumed;
  if (job.resume) {
    resumed = load_training_checkpoint(checkpoint, identity, state, adam);
    outcome.first_step = resumed.step;
    if (job.steps > 0 && resumed.step > job.steps)
      fail("{} is at step {}, past --steps {}; give --steps of at least {}", checkpoint.string(), resumed.step,
           job.steps, resumed.step);
  } else if (have_checkpoint) {
    fs::remove(checkpoint);  // --force: this run's checkpoints only
  }

  // ᾱ of every original step, as float32 factors (guided-diffusion's _extract_into_tensor).
  const DiffusionSchedule schedule = make_schedule(ddpm_betas(parse_schedule(job.noise_schedule), job.diffusion_steps),
                                                   space_timesteps(job.diffusion_steps, ""));
  const at::Tensor signal = at::tensor(schedule.sqrt_alphas_cumprod, at::kDouble).to(at::kFloat);
  const at::Tensor noise_scale = at::tensor(schedule.sqrt_one_minus_alphas_cumprod, at::kDouble).to(at::kFloat);

  double seconds_before = resumed.seconds;
  const auto start = Clock::now();
  const auto save = [&](int64_t step) {
    ckpt::Metadata metadata{{"format", kCheckpointFormat},
                            {"step", std::to_string(step)},
                            {"seconds", fmt::format("{}", seconds_before + seconds_since(start))},
                            {"training", identity}};
    fs::create_directories(job.out);
    write_file_atomic(checkpoint, checkpoint_bytes(state, adam, metadata));
  };

  install_interrupt_handler();
  BatchOrder order(job.seed, train.count, kBatchStreamTag);
  outcome.step = outcome.first_step;
  const int64_t B = job.batch;
  {
    // A bar only when the number of steps is known; the status lines say the rest.
    std::optional<ProgressBar> bar;
    if (job.steps > 0) bar.emplace(job.steps - outcome.first_step, "train-diffusion");
    double loss_sum = 0;
    int64_t loss_count = 0;
    for (int64_t step = outcome.first_step + 1; job.steps == 0 || step <= job.steps; ++step) {
      const at::Tensor x0 = image_batch(train, order.batch(step, B));
      RandomStream random(job.seed, RandomDomain::experiment, static_cast<uint64_t>(step), kStepStreamTag);
      std::vector<int64_t> t_values(static_cast<size_t>(B));
      for (auto& t : t_values) t = static_cast<int64_t>(random.below(static_cast<uint64_t>(job.diffusion_steps)));
      const at::Tensor t = at::tensor(t_values, at::kLong);
      at::Generator generator = at::detail::createCPUGenerator(random.next());
      const at::Tensor eps = at::randn({B, 1, kImageSide, kImageSide}, generator);
      const at::Tensor x_t = signal.index_select(0, t).view({B, 1, 1, 1}) * x0 +
                             noise_scale.index_select(0, t).view({B, 1, 1, 1}) * eps;
      const double rate = job.learning_rate *
                          (job.warmup_steps > 0 ? std::min(1.0, static_cast<double>(step) / job.warmup_steps) : 1.0);
      static_cast<torch::optim::AdamOptions&>(adam.param_groups()[0].options()).lr(rate);
      const at::Tensor loss = (net.forward_for_training(x_t, t) - eps).pow(2).mean();
      const double value = loss.item<double>();
      if (!std::isfinite(value)) fail("the training loss became NaN at step {}; lower --learning-rate", step);
      adam.zero_grad();
      loss.backward();
      if (job.grad_clip > 0) torch::nn::utils::clip_grad_norm_(parameters, job.grad_clip);
      adam.step();
      {
        torch::NoGradGuard no_grad;
        const double decay = std::min(job.ema_rate, (1.0 + static_cast<double>(step)) / (10.0 + static_cast<double>(step)));
        for (size_t i = 0; i < parameters.size(); ++i) state.ema[i].mul_(decay).add_(parameters[i].detach(), 1.0 - decay);
      }
      outcome.step = step;
      outcome.losses.push_back(value);
      loss_sum += value;
      ++loss_count;
      if (bar) bar->advance();
      const double elapsed = seconds_since(start);
      const bool out_of_time = job.minutes > 0 && elapsed >= job.minutes * 60.0;
      const bool stop = interrupted() || (job.stop_at > 0 && step >= job.stop_at);
      const bool last = (job.steps > 0 && step == job.steps) || out_of_time;
      if (step % job.checkpoint_every == 0 || last || stop) save(step);
      if (step % kLogEvery == 0 || last || stop) {
        outcome.last_loss = loss_sum / static_cast<double>(loss_count);
        const double per_step = elapsed / static_cast<double>(step - outcome.first_step);
        double to_go = job.steps > 0 ? per_step * static_cast<double>(job.steps - step) : 1e300;
        if (job.minutes > 0) to_go = std::min(to_go, std::max(0.0, job.minutes * 60.0 - elapsed));
        if (elapsed >= 2.0)
          print_status(fmt::format("train-diffusion: step {}{}, loss {:.4f} (mean of the last {} steps), "
                                   "{:.3f} s/step, {:.0f} s to go",
                                   step, job.steps > 0 ? fmt::format("/{}", job.steps) : std::string(),
                                   outcome.last_loss, loss_count, per_step, to_go));
        loss_sum = 0;
        loss_count = 0;
      }
      if (stop) {
        outcome.interrupted = true;
        break;
      }
      if (last) break;
    }
    if (bar) bar->finish();
  }
  outcome.train_seconds = seconds_since(start);
  if (outcome.interrupted) return outcome;

  ckpt::TensorList ema;
  for (size_t i = 0; i < state.parameters.size(); ++i)
    ema.emplace_back(state.parameters[i].first, from_torch(state.ema[i]));
  out.write("diffusion.safetensors",
            ckpt::safetensors_bytes(ema, {{"format", "hdiff diffusion model 1"}, {"weights", "EMA"},
                                          {"training", identity}}));
  out.write("diffusion.json", flags_json(config).dump(2) + "\n");
  nlohmann::ordered_json record;
  record["command"] = retrain_command(job, outcome.step);
  record["seed"] = job.seed;
  record["threads"] = at::get_num_threads();
  record["steps"] = outcome.step;
  record["batch"] = job.batch;
  record["train_images"] = train.count;
  record["epochs"] = static_cast<double>(outcome.step * job.batch) / static_cast<double>(train.count);
  record["training_seconds"] = seconds_before + outcome.train_seconds;
  record["final_loss"] = outcome.last_loss;
  record["parameters"] = outcome.parameters;
  record["model"] = describe(config);
  record["learning_rate"] = job.learning_rate;
  record["warmup_steps"] = job.warmup_steps;
  record["ema_rate"] = job.ema_rate;
  record["grad_clip"] = job.grad_clip;
  record["weights"] = "EMA";
  record["hdiff_version"] = version();
  record["git_commit"] = git_commit();
  out.write("training.json", record.dump(2) + "\n");
  out.commit();
  return outcome;
}

}  // namespace hdiff::image
