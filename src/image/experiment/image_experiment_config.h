#pragma once
// The experiment file of `hdiff images experiment` (TOML). Paths are relative to
// the file's folder. Example (the paper's setting; see docs/images.md):
//
//   [diffusion]
//   checkpoint = "256x256_diffusion_uncond.pt"
//   model = "adm-256-uncond"      # a preset, or a guided-diffusion flags file "config.json"
//   steps = 250                   # K respaced steps (default: the model's respacing)
//   precision = "auto"            # auto (fp16 on a GPU when the model uses it), fp32, fp16
//   batch_size = 8
//   [classifier]
//   checkpoint = "convnext_base-6075fbad.pth"
//   batch_size = 32
//   # config = "classifier.json"  # its input pipeline (docs/images.md); default: ImageNet's
//   [images]
//   start = "start-images"        # forward-backward starts from these (flat or class subfolders)
//   reference = "reference-images"  # whitening statistics; default: the start images
//   reference_limit = 0
//   # instead of start: fashion_mnist = "/usr/share/datasets/fashion-mnist" (the IDX files)
//   # and per_class = 10: the first per_class test images of each class
//   [run]
//   k = [0, 25, 50, 75, 100, 125, 150, 175, 200, 225, 250]
//   seed = 0
//   device = "auto"
//   patch = 4                     # patch side (pixels) of the spatial susceptibility

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hdiff::image {

// A parsed experiment file.
struct ImageExperimentConfig {
  std::filesystem::path diffusion_checkpoint;  // ADM state dict
  std::string model;                           // preset name, or path of a flags .json (resolved)
  int64_t steps = 0;                           // K respaced steps (0: the model's respacing)
  std::string precision = "auto";              // "auto", "fp32" or "fp16"
  int64_t diffusion_batch = 4;                 // images per U-Net call
  std::filesystem::path classifier;            // ConvNeXt state dict
  int64_t classifier_batch = 16;               // images per ConvNeXt call
  std::filesystem::path classifier_config;     // its input pipeline (JSON); empty: ImageNet's
  std::filesystem::path start;                 // start image folder (or fashion_mnist)
  std::filesystem::path fashion_mnist;         // folder of Fashion-MNIST's IDX files: start from its test split
  int64_t per_class = 10;                      // with fashion_mnist: the first this many test images per class
  std::filesystem::path reference;             // reference image folder; empty: the start images
  int64_t reference_limit = 0;                 // at most this many reference images (0: all)
  std::vector<int64_t> ks;                     // respaced steps, ascending, distinct
  uint64_t seed = 0;                           // noise seed
  std::string device = "auto";                 // "auto", "cpu", "cuda", "cuda:N"
  int patch = 4;                               // patch side of the spatial susceptibility (patch_changes.h)
};

// Parses experiment text; `source` names it in errors, `base` resolves relative
// paths. Unknown keys and wrong types are errors naming file and line.
ImageExperimentConfig parse_image_experiment_config(const std::string& text, const std::string& source,
                                                    const std::filesystem::path& base);

// Reads and parses an experiment file.
ImageExperimentConfig read_image_experiment_config(const std::filesystem::path& file);

}  // namespace hdiff::image
