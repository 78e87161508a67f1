#pragma once
// Small stand-ins for the Fashion-MNIST pieces of the image tests: a random
// 1-channel 28x28 ADM written as the preset expects it, a models folder with
// the shipped classifier, and a small IDX test split.

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "image/checkpoint/safetensors_writer.h"
#include "image/models/adm_config.h"
#include "image/models/adm_unet.h"
#include "libtorch/torch_bridge.h"

namespace hdiff::testing {

// Flags of a tiny greyscale ADM (28x28, 32 channels, 100 diffusion steps: enough for K = 50).
inline const char* kTinyGreyAdmFlags = R"({"image_size": 28, "in_channels": 1, "num_channels": 32,
    "channel_mult": "1,2,2", "num_res_blocks": 1, "attention_resolutions": "7", "diffusion_steps": 100,
    "noise_schedule": "cosine", "learn_sigma": false})";

// Writes `dir`/diffusion.json and `dir`/diffusion.safetensors with random weights (seed 3).
inline void write_tiny_grey_adm(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "diffusion.json") << kTinyGreyAdmFlags;
  torch::manual_seed(3);
  image::AdmUnet net(image::read_adm_config(dir / "diffusion.json"));
  ckpt::TensorList tensors;
  for (const auto& p : net.module().named_parameters()) tensors.emplace_back(p.key(), from_torch(p.value()));
  ckpt::write_safetensors(dir / "diffusion.safetensors", tensors, {});
}

// A models folder as the fashion-mnist preset reads it: the tiny ADM and the shipped classifier.
inline void write_tiny_models(const std::filesystem::path& models) {
  write_tiny_grey_adm(models / "fashion-mnist" / "diffusion");
  const auto shipped = std::filesystem::path(HDIFF_SOURCE_DIR) / "models" / "fashion-mnist" / "classifier";
  std::filesystem::create_directories(models / "fashion-mnist" / "classifier");
  for (const char* f : {"classifier.safetensors", "classifier.json"})
    std::filesystem::copy_file(shipped / f, models / "fashion-mnist" / "classifier" / f);
}

// Writes plain (not gzip'd) IDX files t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte into
// `dir`: `count` 28x28 images of label i % 10, each a bright rectangle whose size depends on i.
inline void write_tiny_idx(const std::filesystem::path& dir, int count) {
  std::filesystem::create_directories(dir);
  auto be32 = [](std::string& s, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) s += static_cast<char>((v >> shift) & 0xff);
  };
  std::string images("\0\0\x08\x03", 4), labels("\0\0\x08\x01", 4);
  be32(images, static_cast<uint32_t>(count));
  be32(images, 28);
  be32(images, 28);
  be32(labels, static_cast<uint32_t>(count));
  for (int i = 0; i < count; ++i) {
    labels += static_cast<char>(i % 10);
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x)
        images += static_cast<char>(x > 4 + i % 7 && x < 24 - i % 5 && y > 2 + i % 3 && y < 26 ? 200 - 3 * i % 50 : 0);
  }
  std::ofstream(dir / "t10k-images-idx3-ubyte", std::ios::binary) << images;
  std::ofstream(dir / "t10k-labels-idx1-ubyte", std::ios::binary) << labels;
}

}  // namespace hdiff::testing
