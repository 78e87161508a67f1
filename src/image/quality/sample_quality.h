#pragma once
// `hdiff images sample-quality`: how good are a diffusion model's samples from
// pure noise, measured with a trained classifier (docs/images.md, "Sample quality").
//
// It draws `samples` images from pure noise with the experiment's sampler
// (ancestral, or DDIM, on `steps` respaced steps; the noise of sample i is
// keyed by (seed, i), so a sample does not depend on the batch it fell in),
// classifies them and every Fashion-MNIST test image through the classifier's
// input pipeline, and writes into `out` (all at the end, nothing on an error):
//   samples/sample_<i>.png   the samples (5 digits)
//   samples_grid.png         the first 100 (at most) in rows of 10
//   class_histogram.csv      label,class,count,fraction  (top-1 classes of the samples)
//   sample_quality.json      the Fréchet distances and the histogram's spread (below)
// Fréchet distances (frechet.h) use the classifier's pooled features: the last
// stage's output averaged over positions (what the head normalises and reads),
// test images split by index parity into halves A (even) and B (odd):
//   frechet_distance             samples vs B
//   frechet_distance_test_floor  the first n images of A vs B, n = samples
//                                (the same sample-size bias: a floor for scale)
//   frechet_distance_test_halves all of A vs B
// With `samples_from` the samples are read from a folder of images instead of
// drawn (no diffusion model needed).

#include <cstdint>
#include <filesystem>
#include <string>

namespace hdiff::image {

struct SampleQualityJob {
  std::filesystem::path checkpoint;      // ADM state dict
  std::filesystem::path model_config;    // its guided-diffusion flags (JSON)
  std::filesystem::path samples_from;    // instead: a folder of sample images
  std::filesystem::path classifier;      // ConvNeXt state dict
  std::filesystem::path classifier_config;  // its input pipeline (JSON)
  std::filesystem::path data = "/usr/share/datasets/fashion-mnist";  // IDX files (test split)
  std::filesystem::path out;
  int64_t samples = 1000;
  int steps = 50;                        // respaced steps K
  bool ddim = false;
  double eta = 0.0;
  int64_t batch = 50;
  uint64_t seed = 0;
  std::string device = "auto";
  bool force = false;
};

// Runs the job; returns the text of sample_quality.json.
std::string run_sample_quality(const SampleQualityJob& job);

}  // namespace hdiff::image
