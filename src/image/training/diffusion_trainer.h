#pragma once
// `hdiff images train-diffusion`: a small greyscale ADM U-Net (guided-diffusion's
// network, src/image/models/adm_unet) trained by DDPM ε-prediction on
// Fashion-MNIST's training split (28×28, pixels scaled to [-1, 1]), so that the
// image experiment has a trained diffusion model offline (issue 30).
//
// Each step draws a batch of images (hdiff's RandomStream keyed by (seed, epoch)),
// a uniform diffusion step t ∈ [0, T) and a Gaussian noise ε per image (both keyed
// by (seed, step)), and takes an Adam step on the mean of ‖ε̂(x_t, t) − ε‖² per
// pixel, x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε. The learning rate warms up linearly and then
// stays constant, so a run stopped after N steps (by --minutes) has the weights of
// `--steps N`. EMA weights follow every step with decay min(rate, (1+s)/(10+s)).
//
// Guarantees: the weights are a function of the job (seed, network, batch,
// learning rate, EMA rate, schedule, data, steps done) and the thread count: the
// initial weights come from LibTorch's generator seeded with the seed (with
// guided-diffusion's zero initialisation of the output layers). A checkpoint
// (weights, EMA weights, Adam state, step) is written atomically to
// OUT/checkpoint.safetensors every `checkpoint_every` steps, at --stop-at and on
// Ctrl-C; --resume continues from it to the same bytes as an uninterrupted run.
// The final files appear together at the end: OUT/diffusion.safetensors (the EMA
// weights under the names AdmUnet::load reads), OUT/diffusion.json (the
// guided-diffusion flags read_adm_config reads; give it to `hdiff images
// forward-backward --model-config`) and OUT/training.json (the record of the run).

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "image/io/idx.h"

namespace hdiff::image {

struct DiffusionTrainJob {
  std::filesystem::path data = kFashionMnistDir;  // the IDX files
  std::filesystem::path out;
  int64_t steps = 0;         // optimiser steps (0: until `minutes` run out)
  double minutes = 0;        // training-time budget of this run (0: none); ends at a whole step
  int64_t batch = 32;        // images per step
  uint64_t seed = 0;
  int threads = 1;           // LibTorch threads (Debian's LibTorch spins idle threads)
  bool resume = false;       // continue from OUT/checkpoint.safetensors
  bool force = false;        // start again over an earlier run's checkpoint
  double learning_rate = 1e-3;  // Adam's rate after the warm-up
  int64_t warmup_steps = 200;   // linear warm-up of the rate
  double ema_rate = 0.999;      // EMA decay (capped by (1+s)/(10+s) early on)
  double grad_clip = 1.0;       // largest gradient norm (0: no clipping)
  // The network (guided-diffusion flags; the image is 28×28, one channel). The
  // defaults (1.19 M parameters, about 0.5 s per step of 32 images on 2 shared
  // cores) are the shipped model's: the size that learns most in an hour here.
  int num_channels = 32;
  std::vector<double> channel_mult = {1, 2, 2};  // 28 → 14 → 7
  int num_res_blocks = 1;
  std::vector<int> attention_resolutions = {7};
  int num_head_channels = 32;
  // The diffusion.
  std::string noise_schedule = "cosine";  // "linear" or "cosine"
  int diffusion_steps = 1000;
  // Respacing written into diffusion.json for sampling (forward-backward --steps overrides it).
  std::string timestep_respacing = "250";
  int64_t train_limit = 0;       // use the first N training images (0: all; for tests)
  int64_t checkpoint_every = 500;  // steps between checkpoints
  int64_t stop_at = 0;  // stop after this step as Ctrl-C does, keeping the checkpoint (0: never)
};

struct DiffusionTrainOutcome {
  int64_t first_step = 0;     // the step the run started from (0, or the checkpoint's)
  int64_t step = 0;           // the last step done
  bool interrupted = false;   // Ctrl-C or --stop-at: the checkpoint is kept, nothing else written
  double train_seconds = 0;   // this run's training time
  double last_loss = 0;       // mean training loss of the last logged steps
  std::vector<double> losses; // the loss of every step of this run, in order
  int64_t parameters = 0;
};

// The command line that retrains the model of `job` stopped at `steps` steps
// (with `--out DIR` as written), as training.json records it.
std::string retrain_command(const DiffusionTrainJob& job, int64_t steps);

// Runs the training (see above). Errors are one line; nothing but the
// checkpoint is written before the end.
DiffusionTrainOutcome run_train_diffusion(const DiffusionTrainJob& job);

}  // namespace hdiff::image
