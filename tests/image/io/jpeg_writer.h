#pragma once
// Test-only JPEG encoder through libjpeg-turbo: the tests craft JPEGs (sampling
// factors, progressive scan scripts) and damage them. Valid input only: on a
// libjpeg error the default handler ends the test process.

#include <cstdio>  // jpeglib.h needs FILE and size_t declared first
#include <cstdlib>
#include <string>
#include <vector>

#include <jpeglib.h>

#include "image/io/image_io.h"

namespace hdiff::testing {

struct JpegOptions {
  int quality = 90;
  int luma_h = 2, luma_v = 2;              // luma sampling factors: 2×2 is 4:2:0, 1×1 is 4:4:4
  bool grey = false;                       // one component (the image's red channel)
  bool progressive = false;                // libjpeg's standard progressive script
  std::vector<jpeg_scan_info> scans = {};  // or this scan script
  std::vector<unsigned char> cmyk = {};    // if set: these CMYK pixels (4 bytes each) instead of the image's
};

inline std::string jpeg_bytes(const image::Image& img, const JpegOptions& options = {}) {
  jpeg_compress_struct info{};
  jpeg_error_mgr errors{};
  info.err = jpeg_std_error(&errors);
  jpeg_create_compress(&info);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&info, &buffer, &size);
  info.image_width = static_cast<JDIMENSION>(img.width);
  info.image_height = static_cast<JDIMENSION>(img.height);
  const bool cmyk = !options.cmyk.empty();
  const size_t components = cmyk ? 4 : options.grey ? 1 : 3;
  info.input_components = static_cast<int>(components);
  info.in_color_space = cmyk ? JCS_CMYK : options.grey ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, options.quality, TRUE);
  if (components == 3) {
    info.comp_info[0].h_samp_factor = options.luma_h;
    info.comp_info[0].v_samp_factor = options.luma_v;
  }
  if (options.progressive) jpeg_simple_progression(&info);
  if (!options.scans.empty()) {
    info.scan_info = options.scans.data();
    info.num_scans = static_cast<int>(options.scans.size());
  }
  jpeg_start_compress(&info, TRUE);
  std::vector<unsigned char> row(static_cast<size_t>(img.width) * components);
  while (info.next_scanline < info.image_height) {
    const size_t y = info.next_scanline, width = static_cast<size_t>(img.width);
    const unsigned char* pixels = cmyk ? options.cmyk.data() + y * width * 4 : img.rgb.data() + y * width * 3;
    for (size_t x = 0; x < width; ++x)
      for (size_t c = 0; c < components; ++c) row[x * components + c] = pixels[(cmyk ? 4 : 3) * x + c];
    JSAMPROW rows[1] = {row.data()};
    jpeg_write_scanlines(&info, rows, 1);
  }
  jpeg_finish_compress(&info);
  std::string out(reinterpret_cast<const char*>(buffer), size);
  jpeg_destroy_compress(&info);
  std::free(buffer);
  return out;
}

}  // namespace hdiff::testing
