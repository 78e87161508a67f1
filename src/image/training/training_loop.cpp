#include "image/training/training_loop.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <numeric>

#include "common/random.h"

namespace hdiff::image {

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
