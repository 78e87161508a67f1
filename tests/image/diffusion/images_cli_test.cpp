// `hdiff images forward-backward` end to end: against the PyTorch fixture with
// given noises, on an image folder (outputs, resume), and its error messages.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "cli/torch_handoff.h"
#include "common/npy.h"
#include "image/checkpoint/checkpoint.h"
#include "image/checkpoint/safetensors_writer.h"
#include "image/io/image_io.h"
#include "image/models/adm_unet.h"
#include "libtorch/torch_bridge.h"
#include "support/helpers.h"

namespace fs = std::filesystem;

namespace {

const fs::path kAdm = fs::path(HDIFF_FIXTURES_DIR) / "image" / "adm_a";

using hdiff::testing::CommandResult;
using hdiff::testing::read_text;
using hdiff::testing::run_hdiff;

// stdout and stderr together, as a terminal shows them: the checks look for a message in either.
const hdiff::testing::RunOptions kMerged{.merge_output = true};

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("hdiff_test_images_" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir.parent_path());
  return dir;
}

// --device of the runs: HDIFF_TEST_DEVICE (e.g. cuda, set by scripts/gpu-check.sh) or cpu.
std::string device_arg() {
  const char* env = std::getenv("HDIFF_TEST_DEVICE");
  return std::string(" --device ") + (env && *env ? env : "cpu");
}

std::string model_args() {
  return "--checkpoint " + (kAdm / "model.pt").string() + " --model-config " + (kAdm / "config.json").string();
}

hdiff::image::Image test_image(int w, int h, int seed) {
  hdiff::image::Image img{w, h, std::vector<uint8_t>(static_cast<size_t>(w) * h * 3)};
  for (size_t i = 0; i < img.rgb.size(); ++i) img.rgb[i] = static_cast<uint8_t>((i * 37 + seed * 101) % 251);
  return img;
}

}  // namespace

// Every command the core hands over (kTorchCommands) is one hdiff-torch holds:
// `hdiff COMMAND --help` reaches it, and so does `hdiff-torch COMMAND --help`
// run directly (the usage lines differ only by the program's path).
TEST(ImagesCli, EveryHandedOverCommandRunsInHdiffTorch) {
  const fs::path torch = fs::path(HDIFF_BINARY).parent_path() / hdiff::cli::kTorchExecutable;
  for (const auto& command : hdiff::cli::kTorchCommands) {
    const auto handed = run_hdiff(std::string(command.name) + " --help");
    EXPECT_EQ(handed.exit_code, 0) << command.name << ": " << handed.err;
    EXPECT_NE(handed.out.find(command.name), std::string::npos) << handed.out;
    const auto direct = hdiff::testing::run_binary(torch, std::string(command.name) + " --help");
    EXPECT_EQ(direct.exit_code, 0) << command.name << ": " << direct.err;
    EXPECT_NE(direct.out.find(command.name), std::string::npos) << direct.out;
    EXPECT_EQ(std::count(direct.out.begin(), direct.out.end(), '\n'),
              std::count(handed.out.begin(), handed.out.end(), '\n'));
  }
}

TEST(ImagesCli, TensorInputReproducesPyTorch) {
  const fs::path out = fresh_dir("tensor");
  const std::string fb = (kAdm / "forward_backward.pt").string();
  const CommandResult r =
      run_hdiff("images forward-backward " + model_args() + " --t 5 --input-tensor " + fb + ":x0 --noise-tensor " + fb +
                    ":noises --batch 1 --out " + out.string() + device_arg(),
                {}, kMerged);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(fs::exists(out / "run.json"));
  const hdiff::NpyArray sample = hdiff::read_npy(out / "sample.npy");
  ASSERT_EQ(sample.shape, (std::vector<int64_t>{2, 3, 32, 32}));
  const auto got = hdiff::npy_to_f64(sample, "sample");
  const auto want = hdiff::ckpt::read_tensor(kAdm / "forward_backward.pt", "sample").to_f64();
  double diff = 0;
  for (size_t i = 0; i < got.size(); ++i) diff = std::max(diff, std::abs(got[i] - want[i]));
  EXPECT_LT(diff, 1e-3);
}

TEST(ImagesCli, FolderInputWritesNamedPngsAndResumes) {
  const fs::path in = fresh_dir("in");
  const fs::path out = fresh_dir("out");
  fs::create_directories(in / "n01440764");
  hdiff::image::write_png(in / "n01440764" / "a.png", test_image(48, 40, 1));
  hdiff::image::write_png(in / "b.png", test_image(32, 64, 2));
  const std::string args = "images forward-backward " + model_args() + " --t 2,10 --batch 2" + device_arg() + " --input " +
                           in.string() + " --out " + out.string();
  const CommandResult first = run_hdiff(args, {}, kMerged);
  ASSERT_EQ(first.exit_code, 0) << first.out;
  EXPECT_NE(first.out.find("wrote 4 outputs"), std::string::npos) << first.out;
  for (const char* name : {"start/n01440764/a.png", "start/b.png", "k2/n01440764/a.png", "k2/b.png",
                           "k10/n01440764/a.png", "k10/b.png"}) {
    ASSERT_TRUE(fs::exists(out / name)) << name;
    const auto img = hdiff::image::read_image(out / name);
    EXPECT_EQ(img.width, 32);
    EXPECT_EQ(img.height, 32);
  }
  const CommandResult again = run_hdiff(args, {}, kMerged);
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_NE(again.out.find("wrote 0 outputs"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("(4 existed already)"), std::string::npos) << again.out;
}

TEST(ImagesCli, BadInputsGiveOneLineErrors) {
  const fs::path dir = fresh_dir("errors");
  fs::create_directories(dir);
  const std::string fb = (kAdm / "forward_backward.pt").string();
  const std::string tail = " --t 5 --input-tensor " + fb + ":x0 --device cpu --out " + (dir / "o").string();

  // A truncated checkpoint.
  const std::string bytes = read_text(kAdm / "model.pt");
  std::ofstream(dir / "cut.pt", std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  CommandResult r = run_hdiff("images forward-backward --checkpoint " + (dir / "cut.pt").string() + " --model-config " +
                                  (kAdm / "config.json").string() + tail,
                              {}, kMerged);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("truncated or corrupted checkpoint archive"), std::string::npos) << r.out;

  // A state dict of another configuration.
  r = run_hdiff(
      "images forward-backward --checkpoint " + (kAdm / "model.pt").string() + " --preset adm-256-uncond" + tail, {},
      kMerged);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("does not fit the model configuration"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("time_embed.0.weight (expected [1024, 256], found [128, 32])"), std::string::npos);

  // A step outside 0..K and a missing key.
  r = run_hdiff(
      "images forward-backward " + model_args() + " --t 11 --input-tensor " + fb + ":x0 --out " + (dir / "o").string(),
      {}, kMerged);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("--t 11 is outside 0..10"), std::string::npos) << r.out;
  r = run_hdiff(
      "images forward-backward " + model_args() + " --t 5 --input-tensor " + fb + ":nope --out " + (dir / "o").string(),
      {}, kMerged);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("no entry 'nope'"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir / "o"));
}

// A random-weight class-conditional model saved as .safetensors: labels come
// from numeric class folders, and a flat folder is refused.
TEST(ImagesCli, ClassConditionalModelTakesLabelsFromFolders) {
  const fs::path dir = fresh_dir("classcond");
  fs::create_directories(dir / "in" / "3");
  fs::create_directories(dir / "in" / "7");
  fs::create_directories(dir / "flat");
  std::ifstream config_in(kAdm / "config.json");
  nlohmann::json config = nlohmann::json::parse(config_in);
  config["class_cond"] = true;
  config["num_classes"] = 10;
  std::ofstream(dir / "config.json") << config.dump();

  hdiff::image::AdmUnet net(hdiff::image::read_adm_config(dir / "config.json"));
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& p : net.module().named_parameters()) {
    const hdiff::ckpt::Tensor t = hdiff::from_torch(p.value());
    header[p.key()] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data.append(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
  }
  const std::string head = header.dump();
  const uint64_t n = head.size();
  std::ofstream(dir / "model.safetensors", std::ios::binary)
      << std::string(reinterpret_cast<const char*>(&n), 8) << head << data;

  hdiff::image::write_png(dir / "in" / "3" / "x.png", test_image(40, 40, 3));
  hdiff::image::write_png(dir / "in" / "7" / "y.png", test_image(40, 40, 4));
  hdiff::image::write_png(dir / "flat" / "z.png", test_image(40, 40, 5));
  const std::string model = "images forward-backward --checkpoint " + (dir / "model.safetensors").string() +
                            " --model-config " + (dir / "config.json").string() + " --t 3" + device_arg();
  CommandResult r =
      run_hdiff(model + " --input " + (dir / "in").string() + " --out " + (dir / "out").string(), {}, kMerged);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(fs::exists(dir / "out" / "k3" / "3" / "x.png"));
  EXPECT_TRUE(fs::exists(dir / "out" / "k3" / "7" / "y.png"));
  r = run_hdiff(model + " --input " + (dir / "flat").string() + " --out " + (dir / "out2").string(), {}, kMerged);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("class subfolders or give --labels-tensor"), std::string::npos) << r.out;
}

// A greyscale model (in_channels 1): colour inputs are read as grey, and the start
// image and the results are grey PNGs; tensors are N x 1 x H x W.
TEST(ImagesCli, GreyscaleModelReadsAndWritesGrey) {
  const fs::path dir = fresh_dir("grey");
  fs::create_directories(dir / "in");
  std::ofstream(dir / "config.json") << R"({"image_size": 28, "in_channels": 1, "num_channels": 32,
      "channel_mult": "1,2,2", "num_res_blocks": 1, "attention_resolutions": "7", "diffusion_steps": 100,
      "timestep_respacing": "10", "noise_schedule": "cosine"})";
  torch::manual_seed(3);
  hdiff::image::AdmUnet net(hdiff::image::read_adm_config(dir / "config.json"));
  hdiff::ckpt::TensorList tensors;
  for (const auto& p : net.module().named_parameters()) tensors.emplace_back(p.key(), hdiff::from_torch(p.value()));
  hdiff::ckpt::write_safetensors(dir / "model.safetensors", tensors, {});
  const hdiff::image::Image colour = test_image(28, 28, 6);
  hdiff::image::write_png(dir / "in" / "a.png", colour);
  const std::string model = "images forward-backward --checkpoint " + (dir / "model.safetensors").string() +
                            " --model-config " + (dir / "config.json").string() + device_arg();
  CommandResult r = run_hdiff(model + " --t 4,10 --input " + (dir / "in").string() + " --out " +
                                  (dir / "out").string(), {}, kMerged);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  for (const char* name : {"start/a.png", "k4/a.png", "k10/a.png"}) {
    const std::string bytes = read_text(dir / "out" / name);
    ASSERT_GT(bytes.size(), 26u) << name;
    EXPECT_EQ(static_cast<int>(bytes[25]), 0) << name << ": not a grey PNG";
  }
  const hdiff::image::Image start = hdiff::image::read_image(dir / "out" / "start" / "a.png");
  for (size_t i = 0; i < start.rgb.size() / 3; ++i)
    ASSERT_EQ(start.rgb[3 * i], hdiff::image::luminance(colour.rgb[3 * i], colour.rgb[3 * i + 1], colour.rgb[3 * i + 2]));
  // Tensor input: one channel, and the wrong count is explained.
  const at::Tensor x0 = torch::rand({2, 1, 28, 28}) * 2 - 1;
  hdiff::ckpt::write_safetensors(dir / "x.safetensors", {{"x0", hdiff::from_torch(x0)}}, {});
  r = run_hdiff(model + " --t 3 --input-tensor " + (dir / "x.safetensors").string() + ":x0 --out " +
                    (dir / "tensor").string(), {}, kMerged);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(hdiff::read_npy(dir / "tensor" / "sample.npy").shape, (std::vector<int64_t>{2, 1, 28, 28}));
  hdiff::ckpt::write_safetensors(dir / "rgb.safetensors", {{"x0", hdiff::from_torch(torch::zeros({2, 3, 28, 28}))}}, {});
  r = run_hdiff(model + " --t 3 --input-tensor " + (dir / "rgb.safetensors").string() + ":x0 --out " +
                    (dir / "rgb").string(), {}, kMerged);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("the model needs N x 1 x 28 x 28"), std::string::npos) << r.out;
}
