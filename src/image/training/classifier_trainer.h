#pragma once
// `hdiff images train-classifier`: a small ConvNeXt (the probe's blocks, fewer
// stages and channels, greyscale input) trained on Fashion-MNIST's training
// split, so that the image experiment has a classifier of its images offline
// (issue 30).
//
// Guarantees: the weights are a function of the job (seed, layout, batch,
// steps, learning rate, data) and the thread count: batches come from hdiff's
// RandomStream keyed by (seed, epoch) (one permutation of the training images
// per epoch), the initial weights from LibTorch's generator seeded with the
// seed. A checkpoint (weights, AdamW state, step) is written atomically to
// OUT/checkpoint.safetensors every `checkpoint_every` steps and on Ctrl-C;
// --resume continues from it to the same weights as an uninterrupted run.
// The final files appear together at the end: OUT/classifier.safetensors
// (torchvision's names: load_convnext reads it), OUT/classifier.json (its
// input pipeline, read_classifier_config reads it, and its layout) and
// OUT/accuracy.json (accuracy on the test split).

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "image/io/idx.h"

namespace hdiff::image {

struct ClassifierTrainJob {
  std::filesystem::path data = kFashionMnistDir;  // the IDX files
  std::filesystem::path out;
  int64_t steps = 0;        // optimiser steps; 0: from `epochs`
  double epochs = 10;       // passes over the training images when steps = 0
  int64_t batch = 128;      // images per step
  uint64_t seed = 0;
  int threads = 0;          // LibTorch threads; 0: LibTorch's default
  bool resume = false;      // continue from OUT/checkpoint.safetensors
  bool force = false;       // start again over an earlier run's checkpoint
  double learning_rate = 4e-3;  // AdamW's peak rate (linear warm-up, cosine decay to 0)
  double weight_decay = 0.05;
  std::vector<int64_t> widths = {32, 64, 128};  // channels per stage
  std::vector<int64_t> depths = {2, 2, 2};      // blocks per stage
  int64_t patch = 2;                            // the stem's patch side
  int64_t train_limit = 0;       // use the first N training images (0: all; for tests)
  int64_t test_limit = 0;        // measure on the first N test images (0: all)
  int64_t checkpoint_every = 200;  // steps between checkpoints
  int64_t stop_at = 0;  // stop after this step as Ctrl-C does, keeping the checkpoint (0: never)
};

struct ClassifierTrainOutcome {
  int64_t first_step = 0;   // the step the run started from (0, or the checkpoint's)
  int64_t step = 0;         // the last step done
  int64_t steps = 0;        // the steps asked
  bool interrupted = false;  // Ctrl-C: the checkpoint is kept, nothing else written
  double train_seconds = 0;
  double last_loss = 0;      // mean training loss of the last logged steps
  double test_accuracy = 0;  // fraction of the test images classified right
  int64_t test_images = 0;
  int64_t parameters = 0;
};

// Runs the training (see above). Errors are one line; nothing but the
// checkpoint is written before the end.
ClassifierTrainOutcome run_train_classifier(const ClassifierTrainJob& job);

}  // namespace hdiff::image
