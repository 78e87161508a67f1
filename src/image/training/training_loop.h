#pragma once
// Pieces the image trainers share (classifier_trainer, diffusion_trainer): the
// order of training images by step, and the one-line status they print.

#include <cstdint>
#include <string>
#include <vector>

namespace hdiff::image {

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
