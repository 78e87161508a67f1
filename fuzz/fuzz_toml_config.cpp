// Fuzz target: the TOML experiment configs. An input starting with '#image'
// goes to the image experiment's parser, anything else to `hdiff phase`'s.

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.h"
#include "fuzz_support.h"
#include "experiment/phase_config.h"
#include "image/experiment/image_experiment_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    if (text.rfind("#image", 0) == 0)
      (void)hdiff::image::parse_image_experiment_config(text, "fuzz.toml", "/nonexistent");
    else
      (void)hdiff::parse_phase_config(text, "fuzz.toml");
  } catch (const hdiff::Error& e) {
    hdiff::fuzz::report(e);
  }
  return 0;
}
