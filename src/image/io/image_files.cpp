// PNG through libpng and JPEG through libjpeg-turbo (the decoder PIL uses, so
// JPEG pixels match the Python pipelines').
//
// Both libraries report errors by calling a C callback that must not return.
// Throwing a C++ exception through their C frames is undefined behaviour, so
// the callbacks store the message and longjmp back to a setjmp in a small
// C-style step function below; the step returns false and its caller, a plain
// C++ frame that longjmp never crosses, throws. Rule for the step functions:
// no local with a destructor (longjmp would skip it), nothing allocated between
// setjmp and the library calls; the library structs live in an RAII holder in
// the caller, which destroys them on every path.

#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first
#include <cstring>
#include <string>
#include <vector>

#include <jpeglib.h>
// After jpeglib.h, whose configuration decides which codes exist.
#include <jerror.h>  // the JWRN_ warning codes
#include <png.h>

#include "common/error.h"
#include "common/input_file.h"
#include "common/output.h"
#include "image/io/image_io.h"

namespace hdiff::image {
namespace fs = std::filesystem;

namespace {

// A progressive JPEG may hold any number of scans, each one a pass over every
// coefficient: a few hundred bytes of tiny scans keep libjpeg busy for minutes.
// Real encoders write about ten; this bound is libjpeg-turbo's advice (its
// TJPARAM_SCANLIMIT) applied through the progress monitor.
constexpr int kMaxJpegScans = 500;

void check_declared_size(int64_t width, int64_t height, int64_t max_pixels, const std::string& name) {
  // Each side is bounded before the product, which then cannot overflow.
  if (width <= 0 || height <= 0 || width > max_pixels || height > max_pixels || width * height > max_pixels)
    fail("cannot read image '{}': it declares {}x{} pixels; hdiff reads 1 to {} pixels", name, width, height,
         max_pixels);
}

// ---- JPEG (libjpeg-turbo) ----

struct JpegErrors {
  jpeg_error_mgr manager;  // first: libjpeg hands back a jpeg_error_mgr*
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void jpeg_on_error(j_common_ptr info) {
  auto* errors = reinterpret_cast<JpegErrors*>(info->err);
  info->err->format_message(info, errors->message);
  std::longjmp(errors->jump, 1);
}

// Level -1 is a warning. Those saying that pixel data was lost or made up
// (the file or a segment ends early, a bad entropy code, a broken progression)
// are errors here, as a truncated file is in PIL. The others leave the pixels
// intact and PIL reads such files: junk bytes skipped before a marker (found
// in some ImageNet files), an unknown JFIF revision or Adobe transform code, a
// bad ICC marker. Levels above 0 are trace messages. All are dropped unprinted.
void jpeg_on_message(j_common_ptr info, int level) {
  if (level >= 0) return;
  switch (info->err->msg_code) {
#if JPEG_LIB_VERSION >= 70 || defined(D_ARITH_CODING_SUPPORTED)
    case JWRN_ARITH_BAD_CODE:
#endif
    case JWRN_BOGUS_PROGRESSION:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_JPEG_EOF:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
      jpeg_on_error(info);
    default:
      return;
  }
}

void jpeg_count_scans(j_common_ptr info) {
  auto* decoder = reinterpret_cast<j_decompress_ptr>(info);
  if (decoder->input_scan_number > kMaxJpegScans) {
    auto* errors = reinterpret_cast<JpegErrors*>(info->err);
    std::snprintf(errors->message, sizeof errors->message, "more than %d scans", kMaxJpegScans);
    std::longjmp(errors->jump, 1);
  }
}

struct JpegDecoder {
  jpeg_decompress_struct info{};
  JpegErrors errors{};
  jpeg_progress_mgr progress{};
  bool created = false;
  JpegDecoder() = default;
  JpegDecoder(const JpegDecoder&) = delete;
  JpegDecoder& operator=(const JpegDecoder&) = delete;
  ~JpegDecoder() {
    if (created) jpeg_destroy_decompress(&info);
  }
};

// Reads the header and chooses the output colours (RGB, or CMYK converted below).
bool jpeg_read_header_step(JpegDecoder& d, const unsigned char* data, size_t size) {
  d.info.err = jpeg_std_error(&d.errors.manager);
  d.errors.manager.error_exit = jpeg_on_error;
  d.errors.manager.emit_message = jpeg_on_message;
  if (setjmp(d.errors.jump)) return false;
  jpeg_create_decompress(&d.info);
  d.created = true;
  d.progress.progress_monitor = jpeg_count_scans;
  d.info.progress = &d.progress;
  jpeg_mem_src(&d.info, data, static_cast<unsigned long>(size));
  jpeg_read_header(&d.info, TRUE);
  const bool cmyk = d.info.jpeg_color_space == JCS_CMYK || d.info.jpeg_color_space == JCS_YCCK;
  d.info.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;  // libjpeg-turbo turns grey into RGB itself
  return true;
}

// Decodes every row into `rgb` (width·height·3 bytes); `row` holds one CMYK row
// (width·4 bytes). Reads on to the end-of-image marker: a file without it is truncated.
bool jpeg_decode_step(JpegDecoder& d, unsigned char* rgb, unsigned char* row) {
  if (setjmp(d.errors.jump)) return false;
  jpeg_start_decompress(&d.info);
  const size_t width = d.info.output_width;
  const bool cmyk = d.info.out_color_space == JCS_CMYK;
  while (d.info.output_scanline < d.info.output_height) {
    unsigned char* out = rgb + size_t{d.info.output_scanline} * width * 3;
    JSAMPROW target = cmyk ? row : out;
    jpeg_read_scanlines(&d.info, &target, 1);
    // Adobe files store CMYK inverted, which libjpeg passes on as is: R = C·K/255
    // on the stored values, as PIL ("CMYK;I" then convert("RGB")) and stb compute.
    if (cmyk)
      for (size_t x = 0; x < width; ++x)
        for (size_t c = 0; c < 3; ++c) {
          const unsigned product = unsigned{row[4 * x + c]} * row[4 * x + 3] + 128;
          out[3 * x + c] = static_cast<unsigned char>((product + (product >> 8)) >> 8);
        }
  }
  jpeg_finish_decompress(&d.info);
  return true;
}

Image decode_jpeg(std::span<const unsigned char> bytes, const std::string& name, int64_t max_pixels) {
  JpegDecoder d;
  const auto failed = [&] { fail("cannot read image '{}': truncated or corrupted JPEG ({})", name, d.errors.message); };
  if (!jpeg_read_header_step(d, bytes.data(), bytes.size())) failed();
  // Checked before libjpeg allocates its buffers (a progressive file keeps every coefficient).
  check_declared_size(d.info.image_width, d.info.image_height, max_pixels, name);
  Image img{static_cast<int>(d.info.image_width), static_cast<int>(d.info.image_height), {}};
  img.rgb.resize(static_cast<size_t>(img.width) * static_cast<size_t>(img.height) * 3);
  std::vector<unsigned char> row(static_cast<size_t>(img.width) * 4);
  if (!jpeg_decode_step(d, img.rgb.data(), row.data())) failed();
  HDIFF_CHECK(static_cast<int>(d.info.output_width) == img.width &&
              static_cast<int>(d.info.output_height) == img.height);
  return img;
}

// ---- PNG (libpng) ----

struct PngSource {
  std::span<const unsigned char> bytes;
  size_t pos = 0;
  char message[256] = {};
};

[[noreturn]] void png_on_error(png_structp png, png_const_charp message) {
  auto* source = static_cast<PngSource*>(png_get_error_ptr(png));
  std::snprintf(source->message, sizeof source->message, "%s", message);
  png_longjmp(png, 1);
}

// Warnings concern ancillary data libpng then ignores (a bad colour profile);
// damaged data is an error (CRCs: see png_set_crc_action below).
void png_on_warning(png_structp, png_const_charp) {}

void png_read_bytes(png_structp png, png_bytep out, size_t count) {
  auto* source = static_cast<PngSource*>(png_get_io_ptr(png));
  if (source->bytes.size() - source->pos < count) png_error(png, "the file ends before its IEND chunk");
  std::memcpy(out, source->bytes.data() + source->pos, count);
  source->pos += count;
}

struct PngDecoder {
  PngSource source;
  png_structp png = nullptr;
  png_infop info = nullptr;
  PngDecoder() = default;
  PngDecoder(const PngDecoder&) = delete;
  PngDecoder& operator=(const PngDecoder&) = delete;
  ~PngDecoder() { png_destroy_read_struct(&png, info ? &info : nullptr, nullptr); }
};

// Reads up to the image data and sets the conversions to 8-bit RGB, the way
// stb and PIL's convert("RGB") did: 16-bit samples keep their high byte, low
// bit depths and palettes expand, grey is replicated, alpha is dropped.
bool png_read_header_step(PngDecoder& d) {
  if (setjmp(png_jmpbuf(d.png))) return false;
  // Every chunk's CRC is checked; a bad one in an ancillary chunk is corruption too.
  png_set_crc_action(d.png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
  png_set_read_fn(d.png, &d.source, png_read_bytes);
  png_read_info(d.png, d.info);
  png_set_strip_16(d.png);
  png_set_palette_to_rgb(d.png);
  png_set_expand_gray_1_2_4_to_8(d.png);
  png_set_gray_to_rgb(d.png);
  png_set_strip_alpha(d.png);
  png_set_interlace_handling(d.png);
  png_read_update_info(d.png, d.info);
  return true;
}

// Decodes into `rows` (one pointer per row of width·3 bytes), then reads the
// chunks after the image up to IEND: a file without it is truncated.
bool png_decode_step(PngDecoder& d, png_bytepp rows) {
  if (setjmp(png_jmpbuf(d.png))) return false;
  png_read_image(d.png, rows);
  png_read_end(d.png, nullptr);
  return true;
}

Image decode_png(std::span<const unsigned char> bytes, const std::string& name, int64_t max_pixels) {
  PngDecoder d;
  d.source.bytes = bytes;
  d.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &d.source, png_on_error, png_on_warning);
  if (d.png) d.info = png_create_info_struct(d.png);
  if (!d.png || !d.info) throw std::bad_alloc();
  const auto failed = [&] { fail("cannot read image '{}': truncated or corrupted PNG ({})", name, d.source.message); };
  if (!png_read_header_step(d)) failed();
  // Checked before any row is allocated (libpng has read only the header).
  check_declared_size(png_get_image_width(d.png, d.info), png_get_image_height(d.png, d.info), max_pixels, name);
  HDIFF_CHECK(png_get_rowbytes(d.png, d.info) == size_t{png_get_image_width(d.png, d.info)} * 3);
  Image img{
      static_cast<int>(png_get_image_width(d.png, d.info)), static_cast<int>(png_get_image_height(d.png, d.info)), {}};
  img.rgb.resize(static_cast<size_t>(img.width) * static_cast<size_t>(img.height) * 3);
  std::vector<png_bytep> rows(static_cast<size_t>(img.height));
  for (size_t y = 0; y < rows.size(); ++y) rows[y] = img.rgb.data() + y * static_cast<size_t>(img.width) * 3;
  if (!png_decode_step(d, rows.data())) failed();
  return img;
}

// ---- PNG writing ----

struct PngSink {
  std::string bytes;
  char message[256] = {};
};

[[noreturn]] void png_on_write_error(png_structp png, png_const_charp message) {
  auto* sink = static_cast<PngSink*>(png_get_error_ptr(png));
  std::snprintf(sink->message, sizeof sink->message, "%s", message);
  png_longjmp(png, 1);
}

void png_append_bytes(png_structp png, png_bytep data, size_t count) {
  static_cast<PngSink*>(png_get_io_ptr(png))->bytes.append(reinterpret_cast<const char*>(data), count);
}
void png_flush_nothing(png_structp) {}

struct PngEncoder {
  PngSink sink;
  png_structp png = nullptr;
  png_infop info = nullptr;
  PngEncoder() = default;
  PngEncoder(const PngEncoder&) = delete;
  PngEncoder& operator=(const PngEncoder&) = delete;
  ~PngEncoder() { png_destroy_write_struct(&png, info ? &info : nullptr); }
};

// libpng's defaults (zlib level 6, adaptive filters): the same bytes on every run.
bool png_encode_step(PngEncoder& e, const Image& image, int colour_type, png_bytepp rows) {
  if (setjmp(png_jmpbuf(e.png))) return false;
  png_set_write_fn(e.png, &e.sink, png_append_bytes, png_flush_nothing);
  png_set_IHDR(e.png, e.info, static_cast<png_uint_32>(image.width), static_cast<png_uint_32>(image.height), 8,
               colour_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(e.png, e.info);
  png_write_image(e.png, rows);
  png_write_end(e.png, nullptr);
  return true;
}

}  // namespace

Image decode_image(std::span<const unsigned char> bytes, const std::string& name, int64_t max_pixels) {
  static const unsigned char kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  const bool png = bytes.size() >= 8 && std::memcmp(bytes.data(), kPng, 8) == 0;
  const bool jpeg = bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
  if (!png && !jpeg) fail("cannot read image '{}': neither a PNG nor a JPEG file", name);
  return png ? decode_png(bytes, name, max_pixels) : decode_jpeg(bytes, name, max_pixels);
}

Image read_image(const fs::path& path) {
  const std::string content = read_input_file(path, "image", kMaxArrayFileBytes);
  return decode_image(std::span(reinterpret_cast<const unsigned char*>(content.data()), content.size()), path.string());
}

std::string png_bytes(const Image& image, PngColour colour) {
  HDIFF_CHECK(image.width > 0 && image.height > 0 &&
              image.rgb.size() == static_cast<size_t>(image.width) * static_cast<size_t>(image.height) * 3);
  // Grey PNGs are written from the luminance of every pixel, one byte each.
  std::vector<uint8_t> grey;
  if (colour == PngColour::grey) {
    grey.resize(image.rgb.size() / 3);
    for (size_t i = 0; i < grey.size(); ++i) grey[i] = luminance(image.rgb[3 * i], image.rgb[3 * i + 1], image.rgb[3 * i + 2]);
  }
  const uint8_t* pixels = colour == PngColour::grey ? grey.data() : image.rgb.data();
  const size_t row_bytes = static_cast<size_t>(image.width) * (colour == PngColour::grey ? 1 : 3);
  PngEncoder e;
  e.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &e.sink, png_on_write_error, png_on_warning);
  if (e.png) e.info = png_create_info_struct(e.png);
  if (!e.png || !e.info) throw std::bad_alloc();
  std::vector<png_bytep> rows(static_cast<size_t>(image.height));
  for (size_t y = 0; y < rows.size(); ++y) rows[y] = const_cast<png_bytep>(pixels) + y * row_bytes;
  if (!png_encode_step(e, image, colour == PngColour::grey ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, rows.data()))
    fail("cannot encode a {}x{} PNG: {}", image.width, image.height, e.sink.message);
  return std::move(e.sink.bytes);
}

void write_png(const fs::path& path, const Image& image, PngColour colour) {
  write_file_atomic(path, png_bytes(image, colour));
}

}  // namespace hdiff::image
