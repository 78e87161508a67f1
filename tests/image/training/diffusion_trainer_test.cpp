// `hdiff images train-diffusion` (issue 30) at tiny sizes: the loss falls, the
// same seed and threads give the same bytes (another seed others), a run
// stopped and resumed ends with the bytes of a straight run, a time budget
// ends in the files of `--steps N`, the files load into AdmUnet and run
// through `hdiff images forward-backward`, and bad input is one line with exit 2.

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "image/io/image_io.h"
#include "image/models/adm_unet.h"
#include "image/training/diffusion_trainer.h"
#include "support/helpers.h"

namespace fs = std::filesystem;
using namespace hdiff::image;
using hdiff::testing::error_of;
using hdiff::testing::read_text;
using hdiff::testing::run_hdiff;

namespace {

fs::path fresh(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("hdiff_test_train_diffusion_" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir.parent_path());
  return dir;
}

// A second or two of training on the package's first images: one level of 32
// channels (attention only in the middle block, at 28x28).
DiffusionTrainJob tiny(const fs::path& out) {
  DiffusionTrainJob job;
  job.out = out;
  job.steps = 12;
  job.batch = 8;
  job.threads = 1;
  job.num_channels = 32;
  job.channel_mult = {1, 1};
  job.num_res_blocks = 1;
  job.attention_resolutions = {};
  job.diffusion_steps = 100;
  job.timestep_respacing = "10";
  job.train_limit = 64;
  job.checkpoint_every = 4;
  job.warmup_steps = 2;
  job.learning_rate = 2e-3;
  return job;
}

double mean(const std::vector<double>& v, size_t from, size_t to) {
  return std::accumulate(v.begin() + static_cast<std::ptrdiff_t>(from), v.begin() + static_cast<std::ptrdiff_t>(to),
                         0.0) / static_cast<double>(to - from);
}

}  // namespace

TEST(TrainDiffusion, LossFalls) {
  auto job = tiny(fresh("loss"));
  job.steps = 60;
  const auto outcome = run_train_diffusion(job);
  ASSERT_EQ(outcome.losses.size(), 60u);
  // The zero-initialised output predicts ε̂ = 0 at first: a loss of E[ε²] = 1.
  EXPECT_NEAR(outcome.losses[0], 1.0, 0.15);
  EXPECT_LT(mean(outcome.losses, 45, 60), 0.6 * mean(outcome.losses, 0, 10));
}

TEST(TrainDiffusion, SameSeedSameBytes) {
  const auto a = fresh("a"), b = fresh("b"), c = fresh("c");
  auto job = tiny(a);
  run_train_diffusion(job);
  job.out = b;
  run_train_diffusion(job);
  const auto weights = read_text(a / "diffusion.safetensors");
  EXPECT_EQ(weights, read_text(b / "diffusion.safetensors"));
  EXPECT_EQ(read_text(a / "diffusion.json"), read_text(b / "diffusion.json"));
  job.out = c;
  job.seed = 1;
  run_train_diffusion(job);
  EXPECT_NE(weights, read_text(c / "diffusion.safetensors"));
}

TEST(TrainDiffusion, ResumeEqualsStraight) {
  auto job = tiny(fresh("straight"));
  run_train_diffusion(job);
  const auto straight = read_text(job.out / "diffusion.safetensors");
  job.out = fresh("stopped");
  job.stop_at = 7;  // between checkpoints: the stop writes its own
  const auto first = run_train_diffusion(job);
  EXPECT_TRUE(first.interrupted);
  EXPECT_EQ(first.step, 7);
  EXPECT_TRUE(fs::exists(job.out / "checkpoint.safetensors"));
  EXPECT_FALSE(fs::exists(job.out / "diffusion.safetensors"));
  job.stop_at = 0;
  // Without --resume (or --force) the checkpoint is not thrown away.
  EXPECT_NE(error_of([&] { run_train_diffusion(job); }).find("add --resume to continue it"), std::string::npos);
  job.resume = true;
  const auto second = run_train_diffusion(job);
  EXPECT_EQ(second.first_step, 7);
  EXPECT_EQ(second.step, 12);
  EXPECT_EQ(read_text(job.out / "diffusion.safetensors"), straight);
  // Another setup does not continue this checkpoint.
  job.batch = 4;
  fs::remove(job.out / "diffusion.safetensors");
  EXPECT_NE(error_of([&] { run_train_diffusion(job); }).find("a checkpoint of another training setup"),
            std::string::npos);
}

// A time budget stops after a whole step and writes the files of `--steps N`
// for the N steps reached, which training.json's command names.
TEST(TrainDiffusion, TimeBudgetGivesTheWeightsOfItsSteps) {
  auto job = tiny(fresh("budget"));
  job.steps = 0;
  job.minutes = 0.02;  // 1.2 s
  const auto budget = run_train_diffusion(job);
  ASSERT_GE(budget.step, 1);
  const auto record = nlohmann::json::parse(read_text(job.out / "training.json"));
  EXPECT_EQ(record["steps"], budget.step);
  EXPECT_EQ(record["threads"], 1);
  EXPECT_EQ(record["command"], retrain_command(job, budget.step));
  EXPECT_NE(record["command"].get<std::string>().find("--steps " + std::to_string(budget.step) + " "),
            std::string::npos);
  auto fixed = tiny(fresh("fixed"));
  fixed.steps = budget.step;
  run_train_diffusion(fixed);
  EXPECT_EQ(read_text(job.out / "diffusion.safetensors"), read_text(fixed.out / "diffusion.safetensors"));
}

// diffusion.json is read unchanged by read_adm_config, the weights by AdmUnet::load,
// and `hdiff images forward-backward` samples grey 28x28 PNGs from pure noise.
TEST(TrainDiffusion, FilesLoadAndRunForwardBackward) {
  const auto dir = fresh("load");
  fs::create_directories(dir);
  auto job = tiny(dir / "model");
  const auto outcome = run_train_diffusion(job);
  const AdmConfig config = read_adm_config(dir / "model" / "diffusion.json");
  EXPECT_EQ(config.image_size, 28);
  EXPECT_EQ(config.in_channels, 1);
  EXPECT_EQ(config.channel_multipliers(), (std::vector<double>{1, 1}));
  EXPECT_EQ(config.noise_schedule, "cosine");
  EXPECT_EQ(config.diffusion_steps, 100);
  AdmUnet net(config);
  net.load(dir / "model" / "diffusion.safetensors");
  EXPECT_EQ(net.parameter_count(), outcome.parameters);
  const at::Tensor eps = net.forward(torch::zeros({2, 1, 28, 28}), torch::tensor({5, 50}));
  EXPECT_EQ(eps.sizes(), (c10::IntArrayRef{2, 1, 28, 28}));
  EXPECT_GT(eps.abs().max().item<double>(), 0.0);  // trained away from the zero start

  fs::create_directories(dir / "in");
  for (int i = 0; i < 2; ++i)
    write_png(dir / "in" / ("x" + std::to_string(i) + ".png"), Image{28, 28, std::vector<uint8_t>(28 * 28 * 3, 0)});
  const auto r = run_hdiff("images forward-backward --checkpoint " + (dir / "model" / "diffusion.safetensors").string() +
                           " --model-config " + (dir / "model" / "diffusion.json").string() +
                           " --t 10 --device cpu --input " + (dir / "in").string() + " --out " + (dir / "fb").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string png = read_text(dir / "fb" / "k10" / "x0.png");
  ASSERT_GT(png.size(), 26u);
  EXPECT_EQ(static_cast<int>(png[25]), 0);  // grey
  EXPECT_EQ(read_image(dir / "fb" / "k10" / "x1.png").width, 28);
}

TEST(TrainDiffusion, BadInputIsOneLine) {
  const auto dir = fresh("cli");
  fs::create_directories(dir);
  const auto one_line = [&](const std::string& args, const std::string& message) {
    const auto r = run_hdiff("images train-diffusion " + args, dir);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find("hdiff: error: " + message), std::string::npos) << r.err;
  };
  one_line("--out run", "give --steps N or --minutes M");
  one_line("--steps 2 --batch 0 --out run", "--batch must lie in [1, 4096]");
  one_line("--steps 2 --num-channels 48 --out run", "--num-channels must be a multiple of 32");
  one_line("--steps 2 --channel-mult 1,2,2,2 --out run", "--channel-mult needs 1 to 3 levels");
  one_line("--steps 2 --channel-mult 1,x --out run", "--channel-mult takes whole numbers separated by commas");
  one_line("--steps 2 --attention-resolutions 8 --out run", "--attention-resolutions 8 is not a feature-map side");
  one_line("--steps 2 --schedule quadratic --out run", "--schedule must be linear or cosine");
  one_line("--steps 2 --ema-rate 1 --out run", "--ema-rate must lie in [0, 1)");
  one_line("--minutes -1 --out run", "--minutes must lie in [0, 1e6]");
  one_line("--resume --steps 2 --out nothing", "nothing to resume");
  std::ofstream(dir / "train-images-idx3-ubyte") << std::string("\x00\x00\x08\x03", 4) << std::string(12, '\xff');
  std::ofstream(dir / "train-labels-idx1-ubyte") << std::string("\x00\x00\x08\x01", 4) << std::string(4, '\0');
  one_line("--data . --steps 2 --out run", "cannot read IDX file './train-images-idx3-ubyte'");
  EXPECT_FALSE(fs::exists(dir / "run" / "diffusion.safetensors"));
}

// The model shipped in models/fashion-mnist/diffusion/ loads through its flags
// file, has the manifest's parameter count, and predicts the noise of test
// images as well as its training loss says (a random network scores about 1).
TEST(TrainDiffusion, ShippedModelDenoisesTestImages) {
  const fs::path dir = fs::path(HDIFF_SOURCE_DIR) / "models" / "fashion-mnist";
  const auto manifest = nlohmann::json::parse(read_text(dir / "manifest.json"));
  const AdmConfig config = read_adm_config(dir / "diffusion" / "diffusion.json");
  EXPECT_EQ(config.in_channels, 1);
  AdmUnet net(config);
  net.load(dir / "diffusion" / "diffusion.safetensors");
  EXPECT_EQ(net.parameter_count(), manifest["diffusion"]["parameters"].get<int64_t>());
  const auto test = read_fashion_mnist(kFashionMnistDir, "t10k");
  const int64_t n = 64;
  const at::Tensor x0 =
      torch::from_blob(const_cast<uint8_t*>(test.pixels.data()), {n, 1, 28, 28}, torch::kByte).to(torch::kFloat) / 127.5 - 1;
  torch::manual_seed(0);
  const at::Tensor t = torch::randint(0, config.diffusion_steps, {n}, torch::kLong);
  const at::Tensor eps = torch::randn({n, 1, 28, 28});
  // ᾱ_t = f(t + 1) / f(0) of the cosine schedule (Nichol & Dhariwal; its beta clipping acts only near t = T).
  const at::Tensor s = ((t.to(torch::kDouble) + 1) / config.diffusion_steps + 0.008) / 1.008 * (M_PI / 2);
  const double c0 = std::cos(0.008 / 1.008 * M_PI / 2);
  const at::Tensor alpha_bar = (s.cos().pow(2) / (c0 * c0)).to(torch::kFloat).view({n, 1, 1, 1});
  const at::Tensor x_t = alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * eps;
  const double loss = (net.forward(x_t, t) - eps).pow(2).mean().item<double>();
  EXPECT_LT(loss, 0.1) << "trained to " << manifest["diffusion"]["final_training_loss"];
}
