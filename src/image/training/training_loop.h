#pragma once
// Pieces the image trainers share (classifier_trainer, diffusion_trainer): the
// checkpoint rules of their output folder, the first images of a split, the
// order of training images by step, and the one-line status they print.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/output.h"
#include "image/io/idx.h"

namespace hdiff::image {

// The file in a trainer's output folder that holds weights, optimiser state and step.
inline constexpr const char* kTrainingCheckpointName = "checkpoint.safetensors";

// Checks --resume and --force against the checkpoint `out` holds: resuming
// needs one, and without --force a checkpoint is never thrown away (errors
// name the fix). Returns whether there is one and the OutputDir policy.
struct TrainingOutput {
  bool have_checkpoint = false;
  Existing existing = Existing::refuse;
};
TrainingOutput check_training_output(const std::filesystem::path& out, bool resume, bool force);

// The first `limit` images of `set` (all of them when limit <= 0 or >= their count).
LabelledImages first_images(LabelledImages set, int64_t limit);

// Images of step `step` (from 1): positions (step-1)·B .. step·B-1 of the
// concatenated epochs, each epoch a permutation of the `images` training images
// keyed by (seed, epoch, tag) through hdiff's RandomStream. A step's batch
// depends only on these, so a resumed run sees the same batches.
class BatchOrder {
 public:
  BatchOrder(uint64_t seed, int64_t images, uint64_t tag) : seed_(seed), images_(images), tag_(tag) {}
  std::vector<int64_t> batch(int64_t step, int64_t size);

 private:
  void shuffle(int64_t epoch);
  uint64_t seed_;
  int64_t images_;
  uint64_t tag_;
  int64_t epoch_ = -1;
  std::vector<int64_t> order_;
};

// Prints a status line to stderr (over the progress bar on a terminal).
void print_status(const std::string& line);

}  // namespace hdiff::image
