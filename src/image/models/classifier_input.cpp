#include "image/models/classifier_input.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>

#include "common/error.h"
#include "common/input_file.h"
#include "common/json_input.h"

namespace hdiff::image {

namespace {
constexpr int64_t kMaxClassifierSide = 4096;
}

at::Tensor image_tensor(const Image& image) {
  HDIFF_CHECK(image.rgb.size() == static_cast<size_t>(image.width) * image.height * 3);
  auto hwc = at::empty({image.height, image.width, 3}, at::TensorOptions().dtype(at::kByte));
  std::memcpy(hwc.data_ptr(), image.rgb.data(), image.rgb.size());
  return hwc.permute({2, 0, 1}).contiguous();
}

void ClassifierPreprocess::validate(const std::string& source) const {
  if (resize < 1 || resize > kMaxClassifierSide)
    fail("{}: input.resize is {}; it must lie in [1, {}]", source, resize, kMaxClassifierSide);
  if (crop < 1 || crop > resize) fail("{}: input.crop is {}; it must lie in [1, resize = {}]", source, crop, resize);
  if (channels != 1 && channels != 3) fail("{}: input.channels is {}; it must be 1 (grey) or 3 (RGB)", source, channels);
  if (static_cast<int64_t>(mean.size()) != channels || static_cast<int64_t>(std.size()) != channels)
    fail("{}: input.mean and input.std need one value per channel ({}), not {} and {}", source, channels,
         mean.size(), std.size());
  for (int64_t c = 0; c < channels; ++c) {
    if (!std::isfinite(mean[static_cast<size_t>(c)]))
      fail("{}: input.mean[{}] must be a finite number", source, c);
    if (!(std[static_cast<size_t>(c)] > 0) || !std::isfinite(std[static_cast<size_t>(c)]))
      fail("{}: input.std[{}] must be a positive number", source, c);
  }
}

ClassifierPreprocess read_classifier_config(const std::filesystem::path& path) {
  const std::string source = path.string();
  const auto text = read_input_file(path, "classifier config", kMaxConfigBytes);
  const auto json = parse_json_input(text, source, "a classifier config is a JSON object with an \"input\" object");
  if (!json.is_object() || !json.contains("input") || !json["input"].is_object())
    fail("{}: a classifier config is a JSON object with an \"input\" object (resize, crop, channels, mean, std)",
         source);
  ClassifierPreprocess p;
  const auto& input = json["input"];
  const auto integer = [&](const char* key, int64_t& out) {
    if (!input.contains(key)) return;
    if (!input[key].is_number_integer()) fail("{}: input.{} must be an integer", source, key);
    out = input[key].get<int64_t>();
  };
  const auto numbers = [&](const char* key, std::vector<double>& out) {
    if (!input.contains(key)) return;
    if (!input[key].is_array() || input[key].size() > 3)
      fail("{}: input.{} must be a list of one number per channel", source, key);
    out.clear();
    for (const auto& v : input[key]) {
      if (!v.is_number()) fail("{}: input.{} must be a list of numbers", source, key);
      out.push_back(v.get<double>());
    }
  };
  for (const auto& [key, value] : input.items())
    if (key != "resize" && key != "crop" && key != "channels" && key != "mean" && key != "std")
      fail("{}: unknown key input.{}; the keys are resize, crop, channels, mean, std", source, key);
  integer("resize", p.resize);
  integer("crop", p.crop);
  integer("channels", p.channels);
  numbers("mean", p.mean);
  numbers("std", p.std);
  p.validate(source);
  return p;
}

std::string classifier_config_json(const ClassifierPreprocess& p) {
  nlohmann::ordered_json input;
  input["resize"] = p.resize;
  input["crop"] = p.crop;
  input["channels"] = p.channels;
  input["mean"] = p.mean;
  input["std"] = p.std;
  nlohmann::ordered_json out;
  out["input"] = input;
  return out.dump(2) + "\n";
}

at::Tensor classifier_input(const at::Tensor& images_uint8, const ClassifierPreprocess& p) {
  c10::InferenceMode guard;
  auto x = images_uint8.dim() == 3 ? images_uint8.unsqueeze(0) : images_uint8;
  if (x.dim() != 4 || x.size(1) != 3 || x.scalar_type() != at::kByte)
    fail("classifier input must be 8-bit RGB images of shape (N, 3, H, W)");
  const int64_t h = x.size(2), w = x.size(3);
  if (h < 1 || w < 1) fail("classifier input image is empty ({}x{})", w, h);
  if (p.channels == 1) {
    // PIL's convert("L"): L = (19595 R + 38470 G + 7471 B + 2^15) >> 16, exact on grey images.
    const auto rgb = x.to(at::kInt);
    x = ((rgb.select(1, 0) * 19595 + rgb.select(1, 1) * 38470 + rgb.select(1, 2) * 7471 + 32768) / 65536)
            .to(at::kByte)
            .unsqueeze(1);
  }
  // torchvision: the shorter side becomes `resize`, the longer one is truncated.
  int64_t new_h = p.resize, new_w = p.resize;
  if (h <= w)
    new_w = static_cast<int64_t>(static_cast<double>(p.resize) * static_cast<double>(w) / static_cast<double>(h));
  else
    new_h = static_cast<int64_t>(static_cast<double>(p.resize) * static_cast<double>(h) / static_cast<double>(w));
  auto resized = x.to(at::kFloat);
  if (new_h != h || new_w != w)
    resized = at::upsample_bilinear2d(resized, {new_h, new_w}, /*align_corners=*/false);
  resized = resized.round().clamp(0, 255);
  // Python's round() is half-to-even, as is nearbyint in the default mode.
  const auto top = static_cast<int64_t>(std::nearbyint(static_cast<double>(new_h - p.crop) / 2.0));
  const auto left = static_cast<int64_t>(std::nearbyint(static_cast<double>(new_w - p.crop) / 2.0));
  auto crop = resized.slice(2, top, top + p.crop).slice(3, left, left + p.crop);
  const auto channels = static_cast<int64_t>(p.mean.size());
  const auto mean = at::tensor(p.mean, at::kFloat).view({1, channels, 1, 1}).to(x.device());
  const auto std = at::tensor(p.std, at::kFloat).view({1, channels, 1, 1}).to(x.device());
  return ((crop / 255.0 - mean) / std).contiguous();
}

}  // namespace hdiff::image
