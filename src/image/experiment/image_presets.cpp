#include "image/experiment/image_presets.h"

#include <fmt/format.h>

#include <cstdlib>

#include "common/error.h"
#include "image/io/idx.h"

namespace hdiff::image {
namespace fs = std::filesystem;

namespace {

constexpr const char* kFashionMnistPreset = "fashion-mnist";

// TOML basic strings: backslashes and quotes escaped.
std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string image_preset_list() {
  return fmt::format("{}  the shipped Fashion-MNIST diffusion model and classifier on 10 test images per class, "
                     "K = 50, k = 0, 5, ..., 50 (docs/images.md)\n",
                     kFashionMnistPreset);
}

fs::path models_folder(const fs::path& option) {
  if (!option.empty()) return fs::absolute(option);
  if (const char* env = std::getenv("HDIFF_MODELS_DIR"); env && *env) return fs::absolute(env);
#ifdef HDIFF_SOURCE_DIR
  return fs::path(HDIFF_SOURCE_DIR) / "models";
#else
  fail("no models folder: give --models DIR (the repository's models/ folder) or set HDIFF_MODELS_DIR");
#endif
}

std::string image_preset_text(const std::string& name, const fs::path& models, bool check_models) {
  if (name != kFashionMnistPreset)
    fail("unknown image experiment preset '{}'; the presets are: {}", name, kFashionMnistPreset);
  const fs::path base = models / "fashion-mnist";
  const fs::path files[] = {base / "diffusion" / "diffusion.safetensors", base / "diffusion" / "diffusion.json",
                            base / "classifier" / "classifier.safetensors",
                            base / "classifier" / "classifier.json"};
  if (check_models)
    for (const auto& file : files)
      if (!fs::is_regular_file(file))
        fail("the {} preset needs {}, which is missing; point --models DIR (or HDIFF_MODELS_DIR) at the "
             "repository's models/ folder, or train the model (models/fashion-mnist/README.md)",
             name, file.string());
  return fmt::format(
      "# hdiff images experiment --preset {name}: the shipped Fashion-MNIST models on test images\n"
      "[diffusion]\n"
      "checkpoint = {ckpt}\n"
      "model = {flags}\n"
      "steps = 50                 # K respaced steps\n"
      "batch_size = 50\n"
      "[classifier]\n"
      "checkpoint = {cls}\n"
      "config = {cls_config}\n"
      "batch_size = 100\n"
      "[images]\n"
      "fashion_mnist = {data}   # the IDX files; the test split\n"
      "per_class = 10             # the first 10 test images of each class\n"
      "[run]\n"
      "k = [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50]\n"
      "seed = 0\n"
      "device = \"auto\"\n"
      "patch = 4                  # 4x4-pixel patches for the spatial susceptibility\n",
      fmt::arg("name", name), fmt::arg("ckpt", toml_string(files[0].string())),
      fmt::arg("flags", toml_string(files[1].string())), fmt::arg("cls", toml_string(files[2].string())),
      fmt::arg("cls_config", toml_string(files[3].string())), fmt::arg("data", toml_string(kFashionMnistDir)));
}

}  // namespace hdiff::image
