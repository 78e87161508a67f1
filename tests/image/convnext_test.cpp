// ConvNeXt and its preprocessing against the outputs of torchvision on the
// fixture's tiny random-weight network.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>

#include "image/checkpoint.h"
#include "image/classifier_input.h"
#include "image/convnext.h"
#include "image/probe.h"
#include "image/probe_convert.h"

namespace hdiff::image {
namespace {

const std::string kDir = std::string(HDIFF_FIXTURES_DIR) + "/image/convnext/";

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

struct Fixture {
  ckpt::Value io = ckpt::read_checkpoint(kDir + "io.pt");
  at::Tensor get(const std::string& key) const { return to_aten(ckpt::tensor_at(io, key, "io.pt")); }
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

TEST(ConvNeXt, PreprocessingMatchesTorchvision) {
  const Fixture fx;
  const auto input = classifier_input(fx.get("image_uint8"));
  EXPECT_LT(max_abs_diff(input, fx.get("preprocessed")), 2e-2);
}

TEST(ConvNeXt, RejectsOtherStateDicts) {
  std::map<std::string, at::Tensor> state;
  for (auto& [name, t] : ckpt::read_tensors(kDir + "model.pt")) state.emplace(name, to_aten(t));
  auto missing = state;
  missing.erase("features.3.0.layer_scale");
  try {
    ConvNeXt::from_state_dict(missing, "m.pth");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'features.3.0.layer_scale' is missing"), std::string::npos) << e.what();
  }
  auto extra = state;
  extra["features.1.0.gamma"] = at::zeros({32});
  try {
    ConvNeXt::from_state_dict(extra, "m.pth");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unexpected tensor 'features.1.0.gamma'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ConvNeXt::from_state_dict({}, "empty.pth"), Error);
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
