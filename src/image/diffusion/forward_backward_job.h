#pragma once
// The jobs behind `hdiff images forward-backward` and `hdiff images bench`.
//
// forward-backward with --input DIR writes, for every image NAME (its path under
// DIR without extension, class subfolder included):
//   OUT/start/NAME.png   the start image as the model sees it (resized, cropped)
//   OUT/k<k>/NAME.png    the result of noising to respaced step k and denoising
// Each PNG is written whole as soon as its batch is done; a rerun skips the
// PNGs that exist, so an interrupted run continues where it stopped. A greyscale
// model (in_channels 1) reads every image as grey (PIL's convert("L")) and writes
// grey PNGs; an RGB model (in_channels 3) reads and writes RGB.
// With --input-tensor it writes OUT/sample.npy (one k) or OUT/sample_k<k>.npy
// (several), float32 N×C×H×W (C: the model's in_channels), all at once at the end. Both write OUT/run.json:
// code version, model, schedule, k, noise source, device and timings.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace hdiff::image {

// Options of `hdiff images forward-backward`.
struct ForwardBackwardJob {
  std::filesystem::path checkpoint;    // ADM state dict (.pt or .safetensors)
  std::filesystem::path model_config;  // JSON of guided-diffusion flags (or use preset)
  std::string preset;                  // e.g. "adm-256-uncond"
  int steps = 0;                       // respaced number of steps K (0: the config's)
  std::vector<int> ks;                 // respaced steps to reverse at, 0..K
  std::filesystem::path input_dir;     // folder of JPEG/PNG images (flat or class subfolders)
  std::string input_tensor;            // FILE:KEY of x0 (N×C×H×W in [-1, 1], C = in_channels)
  std::string noise_tensor;            // FILE:KEY of the noises (M×N×C×H×W)
  std::string labels_tensor;           // FILE:KEY of class labels (N) for class-conditional models
  std::filesystem::path out;           // output folder
  int batch = 8;                       // images per network call
  std::string device = "auto";         // auto, cpu, cuda, cuda:N
  std::string precision = "auto";      // auto (fp16 on CUDA when the config says so), fp32, fp16
  uint64_t seed = 0;                   // seed of the noises when none are given
  bool ddim = false;                   // DDIM reverse steps instead of ancestral ones
  double eta = 0.0;                    // DDIM eta
  // Called once every input is checked and the model has loaded, before anything
  // is written (the image experiment records its config then).
  std::function<void()> before_writing;
};

// What a job did.
struct ForwardBackwardSummary {
  int64_t written = 0;     // images (or tensors) written
  int64_t skipped = 0;     // outputs that already existed
  bool interrupted = false;  // stopped by Ctrl-C; finished outputs are kept
  double seconds = 0.0;
};

// Runs the job; errors (hdiff::Error) name the bad input and the fix.
ForwardBackwardSummary run_forward_backward_job(const ForwardBackwardJob& job);

// Options of `hdiff images bench`: timing of network reverse steps.
struct BenchJob {
  std::filesystem::path model_config;
  std::string preset = "adm-256-uncond";
  int batch = 1;
  int calls = 3;                   // timed reverse steps (after one warm-up)
  std::string device = "cpu";
  std::string precision = "auto";
  int threads = 0;                 // CPU threads (0: LibTorch's default)
};

// Timing results.
struct BenchResult {
  std::string device;
  bool fp16 = false;
  int64_t parameters = 0;
  double seconds_per_step = 0.0;
  // Images per second of a 250-step run at this batch size.
  double images_per_second_250 = 0.0;
};

// Builds the network with random weights and times `calls` reverse steps.
BenchResult run_bench(const BenchJob& job);

}  // namespace hdiff::image
