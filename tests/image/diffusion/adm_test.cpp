// The ADM U-Net and the forward–backward sampler against the outputs of the
// public PyTorch code on the adm_a fixture (random weights, 32x32).

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

#include "common/error.h"
#include "image/checkpoint/checkpoint.h"
#include "image/diffusion/sampler.h"
#include "image/models/adm_unet.h"
#include "libtorch/torch_bridge.h"
#include "support/helpers.h"

namespace fs = std::filesystem;
using namespace hdiff::image;
using hdiff::to_torch;  // the LibTorch bridge (src/libtorch)
namespace ckpt = hdiff::ckpt;

namespace {

const fs::path kAdm = fs::path(HDIFF_FIXTURES_DIR) / "image" / "adm_a";

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// Device of the tests: HDIFF_TEST_DEVICE (e.g. cuda, set by scripts/gpu-check.sh) or the CPU.
c10::Device test_device() {
  const char* env = std::getenv("HDIFF_TEST_DEVICE");
  const c10::Device device(env && *env ? env : "cpu");
  // Compare in true fp32: no TF32 shortcuts in cuDNN or cuBLAS.
  at::globalContext().setAllowTF32CuDNN(false);
  at::globalContext().setAllowTF32CuBLAS(false);
  return device;
}

using hdiff::testing::error_of;

}  // namespace

TEST(AdmSchedule, RespacingFollowsGuidedDiffusion) {
  const auto kept = space_timesteps(1000, "250");
  ASSERT_EQ(kept.size(), 250u);
  EXPECT_EQ(kept.front(), 0);
  EXPECT_EQ(kept.back(), 999);
  EXPECT_EQ(kept[1], 4);  // stride 999/249 = 4.012...
  EXPECT_EQ(space_timesteps(1000, "ddim50").size(), 50u);
  EXPECT_EQ(space_timesteps(100, "10,5").size(), 15u);
  EXPECT_THROW(space_timesteps(10, "20"), hdiff::Error);

  const ckpt::Value fb = ckpt::read_checkpoint(kAdm / "forward_backward.pt");
  const auto expected = ckpt::tensor_at(fb, "timestep_map", "fb").to_i64();
  const GaussianDiffusion diffusion = GaussianDiffusion::from_config(read_adm_config(kAdm / "config.json"));
  ASSERT_EQ(diffusion.num_steps(), 10);
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(diffusion.schedule().timestep_map[i], expected[i]);
}

TEST(AdmUnet, OutputMatchesPyTorch) {
  AdmUnet net(read_adm_config(kAdm / "config.json"));
  net.load(kAdm / "model.pt");
  const c10::Device device = test_device();
  net.to(device, false);
  const ckpt::Value io = ckpt::read_checkpoint(kAdm / "unet_io.pt");
  const at::Tensor x = to_torch(ckpt::tensor_at(io, "x", "unet_io")).to(device);
  const at::Tensor t = to_torch(ckpt::tensor_at(io, "t", "unet_io")).to(device);
  const at::Tensor out = net.forward(x, t).cpu();
  const double diff = max_abs_diff(out, to_torch(ckpt::tensor_at(io, "out", "unet_io")));
  std::printf("max |out - PyTorch| = %.3g\n", diff);
  EXPECT_LT(diff, 1e-4);
}

TEST(AdmSampler, ForwardBackwardMatchesPyTorch) {
  const AdmConfig config = read_adm_config(kAdm / "config.json");
  AdmUnet net(config);
  net.load(kAdm / "model.pt");
  const c10::Device device = test_device();
  net.to(device, false);
  const GaussianDiffusion diffusion = GaussianDiffusion::from_config(config);
  const ckpt::Value fb = ckpt::read_checkpoint(kAdm / "forward_backward.pt");
  const int k = static_cast<int>(ckpt::integer_at(fb, "k", "fb"));
  const at::Tensor x0 = to_torch(ckpt::tensor_at(fb, "x0", "fb")).to(device);
  const at::Tensor noises = to_torch(ckpt::tensor_at(fb, "noises", "fb")).to(device);
  const at::Tensor pred = to_torch(ckpt::tensor_at(fb, "pred_xstart", "fb"));
  ModelFn model = [&](const at::Tensor& x, const at::Tensor& t, const at::Tensor& y) { return net.forward(x, t, y); };
  int steps = 0;
  const ForwardBackwardResult r = forward_backward(
      diffusion, model, x0, k, {}, [&](int j) { return noises[j]; }, SamplerOptions{}, true, [&] { ++steps; });
  EXPECT_EQ(steps, k + 1);
  EXPECT_LT(max_abs_diff(r.x_k.cpu(), to_torch(ckpt::tensor_at(fb, "x_k", "fb"))), 1e-5);
  ASSERT_EQ(static_cast<int64_t>(r.pred_xstart.size()), pred.size(0));
  for (size_t i = 0; i < r.pred_xstart.size(); ++i)
    EXPECT_LT(max_abs_diff(r.pred_xstart[i].cpu(), pred[static_cast<int64_t>(i)]), 1e-3) << "step " << i;
  const double diff = max_abs_diff(r.sample.cpu(), to_torch(ckpt::tensor_at(fb, "sample", "fb")));
  std::printf("max |sample - PyTorch| = %.3g\n", diff);
  EXPECT_LT(diff, 1e-3);
}

TEST(AdmSampler, DdimAndPureNoiseRun) {
  AdmConfig config = read_adm_config(kAdm / "config.json");
  AdmUnet net(config);
  net.load(kAdm / "model.pt");
  const GaussianDiffusion diffusion = GaussianDiffusion::from_config(config);
  ModelFn model = [&](const at::Tensor& x, const at::Tensor& t, const at::Tensor& y) { return net.forward(x, t, y); };
  const at::Tensor x0 = torch::zeros({1, 3, 32, 32});
  auto noise = [](int j) { return torch::randn({1, 3, 32, 32}, torch::Generator(at::detail::createCPUGenerator(j))); };
  SamplerOptions ddim;
  ddim.ddim = true;
  const auto a = forward_backward(diffusion, model, x0, 3, {}, noise, ddim, false);
  const auto b = forward_backward(diffusion, model, x0, 3, {}, noise, ddim, false);
  EXPECT_EQ(max_abs_diff(a.sample, b.sample), 0.0);  // deterministic for fixed noises
  int steps = 0;
  const auto full = forward_backward(diffusion, model, x0, 10, {}, noise, SamplerOptions{}, false, [&] { ++steps; });
  EXPECT_EQ(steps, 10);
  EXPECT_LE(full.sample.abs().max().item<double>(), 1.5);
  EXPECT_THROW(forward_backward(diffusion, model, x0, 11, {}, noise, SamplerOptions{}, false), hdiff::Error);
}

// DDIM (guided-diffusion's ddim_sample) against the update written out here in
// float64 from its definition, with a stand-in network whose ε is a known
// function of x and t, so that any slip in a coefficient shows. The schedule is
// derived here too: linear β from 1e-4 to 0.02 over 1000 steps, ᾱ their
// running product, kept at the fixture's respaced steps.
TEST(AdmSampler, DdimFollowsItsDefinition) {
  const AdmConfig config = read_adm_config(kAdm / "config.json");
  const GaussianDiffusion diffusion = GaussianDiffusion::from_config(config);
  const auto steps = ckpt::tensor_at(ckpt::read_checkpoint(kAdm / "forward_backward.pt"), "timestep_map", "fb").to_i64();
  std::vector<double> alpha_bar_original(1000);
  double product = 1;
  for (int k = 0; k < 1000; ++k) alpha_bar_original[static_cast<size_t>(k)] = product *= 1 - (1e-4 + (0.02 - 1e-4) * k / 999);
  // ε = 0.3·x + 0.0004·t (t the original step), and a variance channel the DDIM update ignores.
  ModelFn model = [](const at::Tensor& x, const at::Tensor& t, const at::Tensor&) {
    const at::Tensor eps = 0.3 * x + 0.0004 * t.to(x.scalar_type()).view({-1, 1, 1, 1});
    return at::cat({eps, at::zeros_like(x)}, 1);
  };
  const at::Tensor x0 = torch::rand({2, 3, 8, 8}, torch::Generator(at::detail::createCPUGenerator(3))) * 2 - 1;
  auto noise = [](int j) { return torch::randn({2, 3, 8, 8}, torch::Generator(at::detail::createCPUGenerator(100 + j))); };
  const int k = 5;
  for (const double eta : {0.0, 0.7}) {
    SamplerOptions options;
    options.ddim = true;
    options.eta = eta;
    const ForwardBackwardResult got = forward_backward(diffusion, model, x0, k, {}, noise, options, true);
    // The same process in float64.
    auto alpha_bar = [&](int i) { return i < 0 ? 1.0 : alpha_bar_original[static_cast<size_t>(steps[static_cast<size_t>(i)])]; };
    at::Tensor x = std::sqrt(alpha_bar(k)) * x0.to(at::kDouble) + std::sqrt(1 - alpha_bar(k)) * noise(0).to(at::kDouble);
    EXPECT_LT(max_abs_diff(got.x_k, x), 1e-5);
    int j = 1;
    for (int i = k; i >= 0; --i, ++j) {
      const double ab = alpha_bar(i), ab_prev = alpha_bar(i - 1);
      const at::Tensor eps_model = 0.3 * x + 0.0004 * static_cast<double>(steps[static_cast<size_t>(i)]);
      const at::Tensor pred_xstart = (x / std::sqrt(ab) - std::sqrt(1 / ab - 1) * eps_model).clamp(-1, 1);
      const at::Tensor eps = (x / std::sqrt(ab) - pred_xstart) / std::sqrt(1 / ab - 1);
      const double sigma = eta * std::sqrt((1 - ab_prev) / (1 - ab)) * std::sqrt(1 - ab / ab_prev);
      x = std::sqrt(ab_prev) * pred_xstart + std::sqrt(1 - ab_prev - sigma * sigma) * eps;
      if (i > 0) x = x + sigma * noise(j).to(at::kDouble);
      EXPECT_LT(max_abs_diff(got.pred_xstart[static_cast<size_t>(k - i)], pred_xstart), 1e-4) << "eta " << eta << " step " << i;
    }
    EXPECT_LT(max_abs_diff(got.sample, x), 1e-4) << "eta " << eta;
    // Not the ancestral sampler's result: the two updates differ.
    const ForwardBackwardResult ancestral = forward_backward(diffusion, model, x0, k, {}, noise, SamplerOptions{}, false);
    EXPECT_GT(max_abs_diff(ancestral.sample, x), 1e-3) << "eta " << eta;
  }
}

// Registered with CTest only on request (see tests/image/CMakeLists.txt): it needs a GPU.
TEST(CudaOnly, AdmUnetFp16IsClose) {
  const c10::Device device = test_device();
  ASSERT_TRUE(device.is_cuda()) << "fp16 runs on CUDA only: run with HDIFF_TEST_DEVICE=cuda (scripts/gpu-check.sh)";
  AdmUnet net(read_adm_config(kAdm / "config.json"));
  net.load(kAdm / "model.pt");
  net.to(device, true);
  const ckpt::Value io = ckpt::read_checkpoint(kAdm / "unet_io.pt");
  const at::Tensor x = to_torch(ckpt::tensor_at(io, "x", "unet_io")).to(device);
  const at::Tensor t = to_torch(ckpt::tensor_at(io, "t", "unet_io")).to(device);
  const at::Tensor out = net.forward(x, t).cpu();
  const at::Tensor want = to_torch(ckpt::tensor_at(io, "out", "unet_io"));
  const double diff = max_abs_diff(out, want);
  std::printf("fp16: max |out - PyTorch fp32| = %.3g (max |out| %.3g)\n", diff, want.abs().max().item<double>());
  EXPECT_LT(diff, 2e-2 * std::max(1.0, want.abs().max().item<double>()));
}

TEST(AdmUnet, StateDictOfAnotherConfigurationIsExplained) {
  AdmConfig config = read_adm_config(kAdm / "config.json");
  config.num_channels = 64;
  config.num_res_blocks = 2;
  AdmUnet net(config);
  const std::string msg = error_of([&] { net.load(kAdm / "model.pt"); });
  EXPECT_NE(msg.find("does not fit the model configuration"), std::string::npos) << msg;
  EXPECT_NE(msg.find("118 missing: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("unexpected: input_blocks.3.0.skip_connection.weight [64, 32, 1, 1]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("time_embed.0.weight (expected [256, 64], found [128, 32])"), std::string::npos) << msg;
  EXPECT_NE(msg.find("input_blocks.6.0.in_layers.0.weight [128]"), std::string::npos) << msg;
}

TEST(AdmUnet, OtherSwitchesBuildThePublicNames) {
  AdmConfig c = read_adm_config(kAdm / "config.json");
  c.resblock_updown = false;
  c.use_new_attention_order = true;
  c.num_head_channels = -1;
  c.num_heads = 2;
  c.learn_sigma = false;
  c.use_scale_shift_norm = false;
  c.class_cond = true;
  c.num_classes = 10;
  AdmUnet net(c);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& p : net.module().named_parameters()) shapes[p.key()] = p.value().sizes().vec();
  EXPECT_EQ(shapes["input_blocks.2.0.op.weight"], (std::vector<int64_t>{32, 32, 3, 3}));
  EXPECT_EQ(shapes["output_blocks.1.2.conv.weight"], (std::vector<int64_t>{64, 64, 3, 3}));
  EXPECT_EQ(shapes["label_emb.weight"], (std::vector<int64_t>{10, 128}));
  EXPECT_EQ(shapes["input_blocks.1.0.emb_layers.1.weight"], (std::vector<int64_t>{32, 128}));  // no scale-shift
  EXPECT_EQ(shapes["out.2.weight"], (std::vector<int64_t>{3, 32, 3, 3}));
  const at::Tensor x = torch::randn({2, 3, 32, 32});
  const at::Tensor t = torch::tensor({10, 500});
  const at::Tensor a = net.forward(x, t, torch::tensor({1, 2}));
  const at::Tensor b = net.forward(x, t, torch::tensor({3, 2}));
  EXPECT_EQ(a.sizes(), (c10::IntArrayRef{2, 3, 32, 32}));
  EXPECT_GT(max_abs_diff(a[0], b[0]), 0.0);   // the label enters
  EXPECT_LT(max_abs_diff(a[1], b[1]), 1e-6);  // per-image
  EXPECT_THROW(net.forward(x, t), hdiff::Error);  // labels are required
}

// in_channels (UNetModel's argument): a greyscale network reads and predicts one
// channel (two with learned variance), and the flag is read from the JSON flags.
TEST(AdmUnet, GreyscaleModelHasOneImageChannel) {
  const fs::path dir = fs::temp_directory_path() / ("hdiff_test_adm_grey_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "grey.json") << R"({"image_size": 28, "in_channels": 1, "num_channels": 32,
      "channel_mult": "1,2,2", "num_res_blocks": 1, "attention_resolutions": "7", "learn_sigma": false})";
  AdmConfig c = read_adm_config(dir / "grey.json");
  EXPECT_EQ(c.in_channels, 1);
  EXPECT_EQ(c.out_channels(), 1);
  EXPECT_NE(describe(c).find("(1 image channel)"), std::string::npos) << describe(c);
  AdmUnet net(c);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& p : net.module().named_parameters()) shapes[p.key()] = p.value().sizes().vec();
  EXPECT_EQ(shapes["input_blocks.0.0.weight"], (std::vector<int64_t>{32, 1, 3, 3}));
  EXPECT_EQ(shapes["out.2.weight"], (std::vector<int64_t>{1, 32, 3, 3}));
  const at::Tensor x = torch::randn({2, 1, 28, 28});
  EXPECT_EQ(net.forward(x, torch::tensor({3, 900})).sizes(), (c10::IntArrayRef{2, 1, 28, 28}));
  // The training path computes the same numbers, with autograd.
  const at::Tensor trained = net.forward_for_training(x, torch::tensor({3, 900}));
  EXPECT_TRUE(trained.requires_grad());
  EXPECT_EQ(max_abs_diff(trained.detach(), net.forward(x, torch::tensor({3, 900}))), 0.0);
  c.learn_sigma = true;
  EXPECT_EQ(AdmUnet(c).forward(x, torch::tensor({1, 2})).size(1), 2);
  // The default stays RGB; a count outside 1..16 is refused.
  EXPECT_EQ(read_adm_config(kAdm / "config.json").in_channels, 3);
  std::ofstream(dir / "bad.json") << R"({"image_size": 32, "channel_mult": "1,2,2", "num_channels": 32, "in_channels": 0})";
  EXPECT_NE(error_of([&] { read_adm_config(dir / "bad.json"); }).find("in_channels 0 is outside 1..16"),
            std::string::npos);
  fs::remove_all(dir);
}

TEST(AdmConfig, PresetAndErrors) {
  const AdmConfig c = adm_preset("adm-256-uncond");
  EXPECT_EQ(c.channel_multipliers(), (std::vector<double>{1, 1, 2, 2, 4, 4}));
  EXPECT_TRUE(c.learn_sigma && c.use_fp16 && c.resblock_updown && !c.class_cond);
  EXPECT_NE(error_of([] { adm_preset("nope"); }).find("adm-256-uncond"), std::string::npos);
}
