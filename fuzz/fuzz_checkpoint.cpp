// Fuzz target: whole checkpoint files through read_tensors, which dispatches
// on the first bytes to the PyTorch zip reader (libzip + unpickler) or the
// safetensors reader. The seed corpus decides which one a run explores.

#include <cstddef>
#include <cstdint>

#include "common/error.h"
#include "fuzz_support.h"
#include "image/checkpoint/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = hdiff::fuzz::scratch_file(data, size, ".ckpt");
  try {
    for (const auto& [name, tensor] : hdiff::ckpt::read_tensors(path)) (void)tensor.to_f64();
  } catch (const hdiff::Error& e) {
    hdiff::fuzz::report(e);
  }
  return 0;
}
