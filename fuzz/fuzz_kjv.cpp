// Fuzz target: the `bible` program's EC02 data file (src/text/kjv_reader.h):
// decode_ec02 of the input, then parse_kjv_text of what it decodes. The text
// cap is 1 MiB here (64 MiB in hdiff), so that every input runs fast; the
// checks are the same.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/error.h"
#include "fuzz_support.h"
#include "text/kjv_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const std::string text = hdiff::text::decode_ec02(bytes, "fuzz.data", uint64_t{1} << 20);
    if (text.size() > (uint64_t{1} << 20)) __builtin_trap();
    const auto bible = hdiff::text::parse_kjv_text(text, "fuzz.data");
    for (const auto& verse : bible.verses)
      if (verse.book < 0 || verse.book >= hdiff::text::kKjvBooks || verse.chapter < 1 || verse.verse < 1)
        __builtin_trap();
  } catch (const hdiff::Error& e) {
    hdiff::fuzz::report(e);
  }
  return 0;
}
