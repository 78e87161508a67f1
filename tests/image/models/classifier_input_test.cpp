// The classifier's input pipeline from its config (issue 30): ImageNet's by
// default (the fixture tests of convnext_test.cpp pin it to torchvision), any
// size, channels and normalisation from a JSON config, and a greyscale ConvNeXt
// probed through it.

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"
#include "image/checkpoint/checkpoint.h"
#include "image/models/classifier_input.h"
#include "image/models/convnext.h"
#include "libtorch/torch_bridge.h"
#include "support/helpers.h"

namespace hdiff::image {
namespace {

namespace fs = std::filesystem;
using hdiff::testing::error_of;

const std::string kDir = std::string(HDIFF_FIXTURES_DIR) + "/image/convnext/";

fs::path write_config(const std::string& name, const std::string& text) {
  const fs::path dir = fs::temp_directory_path() / ("hdiff_test_classifier_input_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / name) << text;
  return dir / name;
}

// The fixture's network with a one-channel stem (the RGB filters summed).
std::map<std::string, at::Tensor> grey_state() {
  std::map<std::string, at::Tensor> state;
  for (auto& [name, t] : ckpt::read_tensors(kDir + "model.pt")) state.emplace(name, to_torch(t));
  state["features.0.0.weight"] = state["features.0.0.weight"].sum(1, /*keepdim=*/true).contiguous();
  return state;
}

}  // namespace

TEST(ClassifierInput, DefaultIsImageNet) {
  const ClassifierPreprocess p;
  EXPECT_EQ(p.resize, kClassifierResize);
  EXPECT_EQ(p.crop, kClassifierCrop);
  EXPECT_EQ(p.channels, 3);
  const auto image = at::randint(0, 256, {2, 3, 40, 50}, at::kByte);
  const auto x = classifier_input(image);
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{2, 3, 224, 224}));
  // A config that states ImageNet's values gives the same bytes.
  const auto config = read_classifier_config(write_config("imagenet.json", classifier_config_json(p)));
  EXPECT_EQ(config, p);
  EXPECT_TRUE(at::equal(classifier_input(image, config), x));
}

TEST(ClassifierInput, GreyscaleWithoutResize) {
  // A grey image as RGB (replicated), as PNG files of Fashion-MNIST are.
  const auto grey = at::randint(0, 256, {2, 1, 28, 28}, at::kByte);
  const ClassifierPreprocess p{28, 28, 1, {0.25}, {0.5}};
  const auto x = classifier_input(grey.expand({2, 3, 28, 28}).contiguous(), p);
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{2, 1, 28, 28}));
  const auto expected = (grey.to(at::kFloat) / 255.0 - 0.25) / 0.5;
  EXPECT_TRUE(at::equal(x, expected));
  // PIL's convert("L") on a colour pixel: (255, 0, 0) -> 76, (0, 0, 255) -> 29.
  auto rgb = at::zeros({1, 3, 1, 2}, at::kByte);
  rgb[0][0][0][0] = 255;
  rgb[0][2][0][1] = 255;
  // The crop takes the centre; of a 2-wide image cropped to 1, the left pixel
  // (torchvision rounds the offset 0.5 half to even).
  const auto l = classifier_input(rgb, ClassifierPreprocess{1, 1, 1, {0.0}, {1.0 / 255}});
  ASSERT_EQ(l.sizes(), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_FLOAT_EQ(l[0][0][0][0].item<float>(), 76.0f);
  const auto right = classifier_input(rgb.slice(3, 1, 2), ClassifierPreprocess{1, 1, 1, {0.0}, {1.0 / 255}});
  EXPECT_FLOAT_EQ(right[0][0][0][0].item<float>(), 29.0f);
}

TEST(ClassifierInput, ConfigRoundTripsAndRefusesNonsense) {
  const ClassifierPreprocess fashion{28, 28, 1, {0.286}, {0.353}};
  EXPECT_EQ(read_classifier_config(write_config("fashion.json", classifier_config_json(fashion))), fashion);
  // Keys beside "input" are the trainer's record, not read here.
  EXPECT_EQ(read_classifier_config(write_config("extra.json", R"({"classes": ["a"], "input": {"crop": 200}})")).crop,
            200);
  const auto refused = [](const std::string& text, const std::string& needle) {
    const auto path = write_config("bad.json", text);
    const auto message = error_of([&] { read_classifier_config(path); });
    EXPECT_NE(message.find(needle), std::string::npos) << needle << " not in: " << message;
    EXPECT_NE(message.find("bad.json"), std::string::npos) << message;
  };
  refused(R"([1, 2])", "\"input\" object");
  refused(R"({"input": {"crop": 300}})", "input.crop is 300");
  refused(R"({"input": {"resize": 0}})", "input.resize is 0");
  refused(R"({"input": {"resize": 1e9}})", "input.resize must be an integer");
  refused(R"({"input": {"channels": 2}})", "input.channels is 2");
  refused(R"({"input": {"channels": 1}})", "one value per channel");
  refused(R"({"input": {"channels": 1, "mean": [0.5], "std": [0]}})", "input.std[0] must be a positive");
  refused(R"({"input": {"channels": 1, "mean": ["x"], "std": [1]}})", "list of numbers");
  refused(R"({"input": {"size": 28}})", "unknown key input.size");
  refused(R"({"input": )", "not valid JSON");
}

TEST(ClassifierInput, GreyscaleConvNeXtTakesItsConfig) {
  auto net = ConvNeXt::from_state_dict(grey_state(), "grey.pth");
  EXPECT_EQ(net.layout().in_channels, 1);
  const ClassifierPreprocess p{64, 64, 1, {0.5}, {0.5}};
  net.set_preprocess(p, "grey.json");
  const auto images = at::randint(0, 256, {2, 3, 64, 64}, at::kByte);
  const auto logits = net.forward(classifier_input(images, net.preprocess()));
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, net.layout().num_classes}));
  // RGB input to a grey stem, and a 3-channel config for it, are errors.
  EXPECT_NE(error_of([&] { net.forward(classifier_input(images)); }).find("(N, 1, H, W)"), std::string::npos);
  EXPECT_NE(error_of([&] { net.set_preprocess(ClassifierPreprocess{}, "rgb.json"); })
                .find("rgb.json: input.channels is 3 but the classifier's stem takes 1 channel(s)"),
            std::string::npos);
  // The ImageNet network keeps ImageNet's pipeline unless told otherwise.
  EXPECT_EQ(load_convnext(kDir + "model.pt").preprocess(), ClassifierPreprocess{});
  const auto config = write_config("rgb28.json", R"({"input": {"resize": 32, "crop": 28}})");
  EXPECT_EQ(load_convnext(kDir + "model.pt", config).preprocess().crop, 28);
}

}  // namespace hdiff::image
