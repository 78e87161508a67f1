// ConvNeXt and its preprocessing against the outputs of torchvision on the
// fixture's tiny random-weight network.

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

#include "common/error.h"
#include "image/checkpoint/checkpoint.h"
#include "image/models/classifier_input.h"
#include "image/models/convnext.h"
#include "image/probe/probe.h"
#include "libtorch/torch_bridge.h"

namespace hdiff::image {
namespace {

const std::string kDir = std::string(HDIFF_FIXTURES_DIR) + "/image/convnext/";

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

struct Fixture {
  ckpt::Value io = ckpt::read_checkpoint(kDir + "io.pt");
  at::Tensor get(const std::string& key) const { return to_torch(ckpt::tensor_at(io, key, "io.pt")); }
  std::vector<std::string> layer_names() const {
    std::vector<std::string> names;
    for (const auto& v : io.find("layer_names")->list) names.push_back(v->string);
    return names;
  }
};

TEST(ConvNeXt, ReadsLayoutFromCheckpoint) {
  const auto net = load_convnext(kDir + "model.pt");
  EXPECT_EQ(net.layout().widths, (std::vector<int64_t>{32, 64, 96}));
  EXPECT_EQ(net.layout().depths, (std::vector<int64_t>{2, 1, 2}));
  EXPECT_EQ(net.layout().num_classes, 10);
  EXPECT_EQ(net.probe_names(), Fixture().layer_names());
}

TEST(ConvNeXt, LogitsAndActivationsMatchTorchvision) {
  const auto net = load_convnext(kDir + "model.pt");
  const Fixture fx;
  std::vector<at::Tensor> probes;
  const auto logits = net.forward(fx.get("preprocessed"), &probes);
  EXPECT_LT(max_abs_diff(logits, fx.get("logits")), 1e-4);
  const auto names = fx.layer_names();
  ASSERT_EQ(probes.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i)
    EXPECT_LT(max_abs_diff(probes[i], fx.get("act/" + names[i])), 1e-4) << names[i];
}

TEST(ConvNeXt, MatchesTorchvisionWithoutOneDnn) {
  // The path GPUs take (Linear layers on permuted tensors), checked on the CPU.
  const auto net = load_convnext(kDir + "model.pt");
  const Fixture fx;
  at::globalContext().setUserEnabledMkldnn(false);
  std::vector<at::Tensor> probes;
  const auto logits = net.forward(fx.get("preprocessed"), &probes);
  at::globalContext().setUserEnabledMkldnn(true);
  EXPECT_LT(max_abs_diff(logits, fx.get("logits")), 1e-4);
  const auto names = fx.layer_names();
  for (size_t i = 0; i < names.size(); ++i)
    EXPECT_LT(max_abs_diff(probes[i], fx.get("act/" + names[i])), 1e-4) << names[i];
}

TEST(ConvNeXt, BaseLayoutHasTorchvisionProbePoints) {
  // convnext_base's tensor names and shapes (weights are irrelevant here).
  const std::vector<int64_t> widths = {128, 256, 512, 1024}, depths = {3, 3, 27, 3};
  std::map<std::string, at::Tensor> state;
  auto put = [&](const std::string& name, std::vector<int64_t> shape) { state[name] = at::zeros(shape); };
  put("features.0.0.weight", {128, 3, 4, 4});
  put("features.0.0.bias", {128});
  put("features.0.1.weight", {128});
  put("features.0.1.bias", {128});
  for (size_t s = 0; s < 4; ++s) {
    const auto c = widths[s];
    for (int64_t j = 0; j < depths[s]; ++j) {
      const auto p = "features." + std::to_string(2 * s + 1) + "." + std::to_string(j) + ".";
      put(p + "block.0.weight", {c, 1, 7, 7});
      put(p + "block.0.bias", {c});
      put(p + "block.2.weight", {c});
      put(p + "block.2.bias", {c});
      put(p + "block.3.weight", {4 * c, c});
      put(p + "block.3.bias", {4 * c});
      put(p + "block.5.weight", {c, 4 * c});
      put(p + "block.5.bias", {c});
      put(p + "layer_scale", {c, 1, 1});
    }
    if (s < 3) {
      const auto p = "features." + std::to_string(2 * s + 2) + ".";
      put(p + "0.weight", {c});
      put(p + "0.bias", {c});
      put(p + "1.weight", {widths[s + 1], c, 2, 2});
      put(p + "1.bias", {widths[s + 1]});
    }
  }
  put("classifier.0.weight", {1024});
  put("classifier.0.bias", {1024});
  put("classifier.2.weight", {1000, 1024});
  put("classifier.2.bias", {1000});
  const auto net = ConvNeXt::from_state_dict(state, "convnext_base");
  EXPECT_EQ(net.layout().depths, depths);
  const auto& names = net.probe_names();
  ASSERT_EQ(names.size(), 41u);
  EXPECT_EQ(names[0], "features.0");
  EXPECT_EQ(names[3], "features.1.2");
  EXPECT_EQ(names[4], "features.2");
  EXPECT_EQ(names[9], "features.5.0");
  EXPECT_EQ(names[36], "features.6");
  EXPECT_EQ(names[39], "features.7.2");
  EXPECT_EQ(names[40], "classifier");
  EXPECT_EQ(net.probe_channels()[36], 1024);
  std::vector<at::Tensor> probes;
  const auto logits = net.forward(at::zeros({1, 3, 64, 64}), &probes);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{1, 1000}));
  EXPECT_EQ(probes[39].sizes(), (std::vector<int64_t>{1, 1024, 2, 2}));
}

TEST(ConvNeXt, PreprocessingMatchesTorchvision) {
  const Fixture fx;
  const auto input = classifier_input(fx.get("image_uint8"));
  EXPECT_LT(max_abs_diff(input, fx.get("preprocessed")), 2e-2);
}

TEST(ConvNeXt, RejectsOtherStateDicts) {
  std::map<std::string, at::Tensor> state;
  for (auto& [name, t] : ckpt::read_tensors(kDir + "model.pt")) state.emplace(name, to_torch(t));
  auto missing = state;
  missing.erase("features.3.0.layer_scale");
  try {
    ConvNeXt::from_state_dict(missing, "m.pth");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("m.pth: the state dict does not fit a torchvision ConvNeXt state dict"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("1 missing: features.3.0.layer_scale ["), std::string::npos) << e.what();
  }
  auto extra = state;
  extra["features.1.0.gamma"] = at::zeros({32});
  try {
    ConvNeXt::from_state_dict(extra, "m.pth");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("1 unexpected: features.1.0.gamma [32]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ConvNeXt::from_state_dict({}, "empty.pth"), Error);
}

// The one loading path names every fault of a state dict in one line, and a
// rejected state dict leaves nothing half-loaded behind (it throws before copying).
TEST(ConvNeXt, NamesEveryFaultOfAStateDictInOneLine) {
  std::map<std::string, at::Tensor> state;
  for (auto& [name, t] : ckpt::read_tensors(kDir + "model.pt")) state.emplace(name, to_torch(t));
  state.erase("features.0.0.bias");
  state.erase("classifier.0.weight");
  state["extra.weight"] = at::zeros({2, 2});
  const auto shape = state.at("features.1.0.block.2.weight").sizes().vec();
  state["features.1.0.block.2.weight"] = at::zeros({shape[0] + 1});
  state["features.1.0.block.2.bias"] = at::zeros(shape, at::kLong);
  try {
    ConvNeXt::from_state_dict(state, "m.pth");
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_NE(msg.find("; 2 missing: classifier.0.weight ["), std::string::npos) << msg;
    EXPECT_NE(msg.find(", features.0.0.bias ["), std::string::npos) << msg;
    EXPECT_NE(msg.find("; 1 unexpected: extra.weight [2, 2]"), std::string::npos) << msg;
    EXPECT_NE(msg.find(fmt::format("; 1 mis-shaped: features.1.0.block.2.weight (expected [{}], found [{}])", shape[0],
                                   shape[0] + 1)),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("; 1 mis-typed: features.1.0.block.2.bias (expected floating point, found Long)"),
              std::string::npos)
        << msg;
  }
}

TEST(WhitenedCosine, IdenticalIsOneAndScaleSensitive) {
  ChannelStats st{"x", {0.0, 1.0}, {1.0, 4.0}};
  const auto a = at::randn({3, 2, 4, 4}, at::kFloat);
  for (double s : whitened_cosine(a, a, st)) EXPECT_NEAR(s, 1.0, 1e-12);
  for (double s : whitened_cosine(a, -a + 2 * at::tensor({0.0f, 1.0f}).view({1, 2, 1, 1}), st))
    EXPECT_NEAR(s, -1.0, 1e-9);  // reflected about the channel means
}

TEST(WhitenedCosine, MatchesHandComputation) {
  // One image, two channels of one element each: whitened a = (1, 1), b = (1, -1).
  ChannelStats st{"x", {0.0, 2.0}, {4.0, 1.0}};
  const auto a = at::tensor({2.0f, 3.0f}).view({1, 2});
  const auto b = at::tensor({2.0f, 1.0f}).view({1, 2});
  EXPECT_NEAR(whitened_cosine(a, b, st)[0], 0.0, 1e-12);
}

}  // namespace
}  // namespace hdiff::image
