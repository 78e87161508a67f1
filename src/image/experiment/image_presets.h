#pragma once
// Named experiment files of `hdiff images experiment --preset NAME`, which run
// the models shipped in the repository's models/ folder.
//
// fashion-mnist: the trained Fashion-MNIST diffusion model and classifier
// (models/fashion-mnist/{diffusion,classifier}/) on 10 test images of each
// class, read straight from the IDX files of Debian's dataset-fashion-mnist,
// K = 50 respaced steps, k = 0, 5, …, 50 (docs/images.md, "The Fashion-MNIST preset").
//
// The models folder is, in this order: the --models option, the environment
// variable HDIFF_MODELS_DIR, or the models/ folder of the source tree hdiff was
// built from (compiled in). A missing model file is one error line naming it
// and these three ways.

#include <filesystem>
#include <string>

namespace hdiff::image {

// "NAME  what it runs" lines, one per preset.
std::string image_preset_list();

// The models folder to use (see above); `option` is --models (empty: not given).
std::filesystem::path models_folder(const std::filesystem::path& option);

// The experiment file of preset `name` with absolute paths into `models`;
// unknown names are errors listing the presets. With `check_models` a missing
// model file is an error.
std::string image_preset_text(const std::string& name, const std::filesystem::path& models, bool check_models);

}  // namespace hdiff::image
