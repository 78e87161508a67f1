// Fuzz target: grammar files (JSON parsing with the depth limit, then the
// grammar's validation and production index).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/error.h"
#include "fuzz_support.h"
#include "common/json_input.h"
#include "grammar/grammar_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto document =
        hdiff::parse_json_input(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.json", "fuzz");
    (void)hdiff::grammar_from_json(document, "fuzz.json");
  } catch (const hdiff::Error& e) {
    hdiff::fuzz::report(e);
  }
  return 0;
}
