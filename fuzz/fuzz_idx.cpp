// Fuzz target: IDX files (plain and gzip'd) and the pairing of images with labels.
// Byte 0 picks the case: even, the rest is one IDX file; odd, bytes 1-2 (big-endian,
// modulo the rest's length + 1) split the rest into an image file and a label file,
// which are decoded and paired. The payload cap is 1 MiB here (256 MiB in hdiff),
// so that every input runs fast; the checks are the same.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/error.h"
#include "fuzz_support.h"
#include "image/io/idx.h"

namespace {
constexpr uint64_t kFuzzMaxPayload = uint64_t{1} << 20;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  try {
    if (data[0] % 2 == 0) {
      const auto array = hdiff::image::decode_idx(all.substr(1), "fuzz.idx", kFuzzMaxPayload);
      // The invariant the header promises: the product of the dimensions is the data's size.
      uint64_t count = 1;
      for (int64_t d : array.dims) count *= static_cast<uint64_t>(d);
      if (count != array.data.size()) __builtin_trap();
      return 0;
    }
    if (size < 3) return 0;
    const auto rest = all.substr(3);
    const size_t split = ((size_t{data[1]} << 8) | data[2]) % (rest.size() + 1);
    auto images = hdiff::image::decode_idx(rest.substr(0, split), "images.idx", kFuzzMaxPayload);
    auto labels = hdiff::image::decode_idx(rest.substr(split), "labels.idx", kFuzzMaxPayload);
    const auto set = hdiff::image::pair_images_labels(std::move(images), std::move(labels), "images.idx",
                                                      "labels.idx", 10);
    if (set.pixels.size() != static_cast<size_t>(set.count * set.height * set.width)) __builtin_trap();
    for (uint8_t label : set.labels)
      if (label >= 10) __builtin_trap();
  } catch (const hdiff::Error& e) {
    hdiff::fuzz::report(e);
  }
  return 0;
}
