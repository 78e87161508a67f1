// Fuzz target: .npy parsing (header and data) and the element conversions.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/error.h"
#include "fuzz_support.h"
#include "common/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto array = hdiff::parse_npy(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.npy");
    try {
      (void)hdiff::npy_to_u32(array, "fuzz", 1000);
    } catch (const hdiff::Error&) {
    }
    (void)hdiff::npy_to_f64(array, "fuzz");
  } catch (const hdiff::Error& e) {
    hdiff::fuzz::report(e);
  }
  return 0;
}
