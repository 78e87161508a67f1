// Fuzz target: the restricted unpickler (image/pickle.h) on raw pickle bytes.
// Storages are served as zeros of the requested size, up to 1 MiB.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "fuzz_support.h"
#include "image/checkpoint/checkpoint.h"
#include "image/checkpoint/pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hdiff::ckpt;
  const auto load = [](const detail::StorageRequest& request) -> detail::StorageBytes {
    const uint64_t bytes = static_cast<uint64_t>(request.numel) * dtype_bytes(request.dtype);
    if (bytes > (1u << 20)) hdiff::fail("storage too large for the fuzz target");
    return std::make_shared<const std::vector<unsigned char>>(bytes);
  };
  try {
    const Value root = detail::unpickle(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz", load);
    for (const auto& [key, value] : root.dict)
      if (value->kind == Value::Kind::tensor) {
        (void)value->tensor->to_f32();
        (void)first_non_finite(*value->tensor);
      }
  } catch (const hdiff::Error& e) {
    hdiff::fuzz::report(e);
  }
  return 0;
}
