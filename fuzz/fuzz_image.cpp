// Fuzz target: the PNG/JPEG decoder (libpng, libjpeg-turbo and hdiff's limits), with a
// pixel limit of 2^20 so that each input decodes quickly. PNG chunk
// CRCs are recomputed first, unless the input's last byte is odd, so that
// mutations reach the decoder instead of stopping at the CRC check.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "common/crc32.h"
#include "common/error.h"
#include "fuzz_support.h"
#include "image/io/image_io.h"

namespace {

void fix_png_crcs(std::vector<unsigned char>& bytes) {
  size_t pos = 8;
  while (bytes.size() >= 12 && pos <= bytes.size() - 12) {
    const uint32_t length = uint32_t{bytes[pos]} << 24 | uint32_t{bytes[pos + 1]} << 16 |
                            uint32_t{bytes[pos + 2]} << 8 | bytes[pos + 3];
    if (length > bytes.size() - pos - 12) return;
    const uint32_t crc = hdiff::crc32(std::span(bytes).subspan(pos + 4, 4 + size_t{length}));
    for (int i = 0; i < 4; ++i) bytes[pos + 8 + length + i] = static_cast<unsigned char>(crc >> (24 - 8 * i));
    pos += 12 + size_t{length};
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<unsigned char> bytes(data, data + size);
  if (size >= 8 && std::memcmp(data, "\x89PNG", 4) == 0 && !(data[size - 1] & 1)) fix_png_crcs(bytes);
  try {
    // 2^20 pixels instead of 2^26: a 700-byte JPEG may declare 2^24 garbage pixels, which
    // decode in 0.3 s normally but take over 10 s under ASan and coverage instrumentation.
    const auto image = hdiff::image::decode_image(bytes, "fuzz", int64_t{1} << 20);
    if (image.width >= 4 && image.height >= 4 && image.width * image.height <= 4096)
      (void)hdiff::image::center_crop_adm(image, 2);
  } catch (const hdiff::Error& e) {
    hdiff::fuzz::report(e);
  }
  return 0;
}
