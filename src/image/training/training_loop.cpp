#include "image/training/training_loop.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <numeric>

#include "common/error.h"
#include "common/random.h"

namespace hdiff::image {

TrainingOutput check_training_output(const std::filesystem::path& out, bool resume, bool force) {
  TrainingOutput result;
  result.have_checkpoint = std::filesystem::exists(out / kTrainingCheckpointName);
  if (resume && !result.have_checkpoint)
    fail("nothing to resume in {}: it holds no {}; run without --resume", out.string(), kTrainingCheckpointName);
  if (!resume && result.have_checkpoint && !force)
    fail("{} holds the checkpoint of an earlier training run; add --resume to continue it, or --force to start again",
         out.string());
  result.existing = resume || force ? Existing::replace : Existing::refuse;
  return result;
}

LabelledImages first_images(LabelledImages set, int64_t limit) {
  if (limit <= 0 || limit >= set.count) return set;
  set.count = limit;
  set.pixels.resize(static_cast<size_t>(limit * set.height * set.width));
  set.labels.resize(static_cast<size_t>(limit));
  return set;
}

std::vector<int64_t> BatchOrder::batch(int64_t step, int64_t size) {
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(size));
  for (int64_t p = (step - 1) * size; p < step * size; ++p) {
    const int64_t epoch = p / images_;
    if (epoch != epoch_) shuffle(epoch);
    out.push_back(order_[static_cast<size_t>(p % images_)]);
  }
  return out;
}

void BatchOrder::shuffle(int64_t epoch) {
  order_.resize(static_cast<size_t>(images_));
  std::iota(order_.begin(), order_.end(), 0);
  RandomStream random(seed_, RandomDomain::experiment, static_cast<uint64_t>(epoch), tag_);
  for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[random.below(i)]);
  epoch_ = epoch;
}

void print_status(const std::string& line) {
  static const bool terminal = isatty(fileno(stderr)) != 0;
  fmt::print(stderr, "{}{}\n", terminal ? "\r\033[K" : "", line);
}

}  // namespace hdiff::image
