// Image files through stb (Debian's libstb), and PIL's resampling rebuilt from
// its definition: per output pixel a window of input pixels weighted by the
// filter, stretched by the scale factor when shrinking.

#include "image/io/image_io.h"

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>

#include "common/crc32.h"
#include "common/error.h"
#include "common/input_file.h"
#include "common/output.h"

namespace hdiff::image {
namespace fs = std::filesystem;

namespace {

uint32_t big_endian_u32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 | p[3];
}

// Width and height a file declares in its header.
struct DeclaredSize {
  int64_t width = 0, height = 0;
};

// stb does not check PNG chunk CRCs and decodes what it can of a truncated file;
// here every chunk must be whole with a correct CRC, up to IEND. Returns the
// size declared by IHDR, which must come first.
DeclaredSize check_png_chunks(std::span<const unsigned char> bytes, const std::string& name) {
  DeclaredSize size;
  size_t pos = 8;
  while (true) {
    if (bytes.size() - pos < 12) fail("cannot read image '{}': truncated PNG (it ends before its IEND chunk)", name);
    const uint32_t length = big_endian_u32(&bytes[pos]);
    if (length > 0x7fffffffu || bytes.size() - pos - 12 < length)
      fail("cannot read image '{}': truncated or corrupted PNG (a chunk runs past the end of the file)", name);
    const auto typed = bytes.subspan(pos + 4, 4 + size_t{length});
    if (crc32(typed) != big_endian_u32(&bytes[pos + 8 + length]))
      fail("cannot read image '{}': corrupted PNG (chunk '{}' at byte {} fails its CRC check)", name,
           std::string(reinterpret_cast<const char*>(&bytes[pos + 4]), 4), pos);
    if (pos == 8) {
      if (std::memcmp(&bytes[pos + 4], "IHDR", 4) != 0 || length != 13)
        fail("cannot read image '{}': corrupted PNG (it does not start with its IHDR chunk)", name);
      size = {big_endian_u32(&bytes[pos + 8]), big_endian_u32(&bytes[pos + 12])};
    }
    const bool end = std::memcmp(&bytes[pos + 4], "IEND", 4) == 0;
    pos += 12 + size_t{length};
    if (end) return size;
  }
}

// Checks the Huffman tables of one DHT segment: at most 256 codes per table.
// stb 2.27 (Debian 12) writes past its 257-entry size list when the 16 counts
// add up to more (found by fuzz_image once stb was instrumented).
// Marks the tables it defines in `defined` ([class][id]).
void check_huffman_tables(std::span<const unsigned char> segment, const std::string& name, bool (&defined)[2][4]) {
  size_t pos = 0;
  while (pos < segment.size()) {
    if (segment.size() - pos < 17) fail("cannot read image '{}': corrupted JPEG (a Huffman table is cut short)", name);
    const int table_class = segment[pos] >> 4, id = segment[pos] & 15;
    if (table_class > 1 || id > 3) fail("cannot read image '{}': corrupted JPEG (bad Huffman table number)", name);
    defined[table_class][id] = true;
    size_t codes = 0;
    for (size_t i = 1; i <= 16; ++i) codes += segment[pos + i];
    if (codes > 256 || segment.size() - pos - 17 < codes)
      fail("cannot read image '{}': corrupted JPEG (a Huffman table declares {} codes)", name, codes);
    pos += 17 + codes;
  }
}

// Checks that a scan (SOS segment) uses only Huffman tables defined before it:
// stb 2.27 decodes with whatever uninitialised memory an undefined table holds
// and reads far out of bounds (found by fuzz_image). Progressive DC scans use
// only DC tables (refinements none), AC scans only AC tables.
void check_scan_tables(std::span<const unsigned char> scan, bool progressive, const bool (&defined)[2][4],
                       const std::string& name) {
  const auto corrupt = [&] { fail("cannot read image '{}': corrupted JPEG (a scan uses an undefined Huffman table)", name); };
  if (scan.empty()) corrupt();
  const size_t components = scan[0];
  if (scan.size() < 1 + 2 * components + 3) corrupt();
  const int spectral_start = scan[1 + 2 * components], high_bit = scan[3 + 2 * components] >> 4;
  for (size_t i = 0; i < components; ++i) {
    const int dc = scan[2 + 2 * i] >> 4, ac = scan[2 + 2 * i] & 15;
    if (dc > 3 || ac > 3) corrupt();
    const bool needs_dc = !progressive || (spectral_start == 0 && high_bit == 0);
    const bool needs_ac = !progressive || spectral_start != 0;
    if ((needs_dc && !defined[0][dc]) || (needs_ac && !defined[1][ac])) corrupt();
  }
}

// A JPEG is walked marker by marker up to its end-of-image marker, through every
// scan (progressive files have several): a file without EOI is truncated. The
// walk also reads the frame size and checks the Huffman tables before stb runs.
DeclaredSize check_jpeg_segments(std::span<const unsigned char> bytes, const std::string& name) {
  DeclaredSize size;
  bool defined[2][4] = {};
  bool progressive = false;
  const auto truncated = [&] {
    fail("cannot read image '{}': truncated or corrupted JPEG (it ends before its end-of-image marker)", name);
  };
  size_t pos = 2;
  while (true) {
    if (bytes.size() - pos < 2 || bytes[pos] != 0xFF) truncated();
    const unsigned char marker = bytes[pos + 1];
    if (marker == 0xFF) {  // fill byte
      ++pos;
      continue;
    }
    if (marker == 0xD9) return size;  // end of image
    if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {  // restart markers and TEM stand alone
      pos += 2;
      continue;
    }
    if (bytes.size() - pos < 4) truncated();
    const size_t length = static_cast<size_t>(bytes[pos + 2]) << 8 | bytes[pos + 3];
    if (length < 2 || bytes.size() - pos - 2 < length) truncated();
    // Start-of-frame markers (0xC0..0xCF but DHT, JPG and DAC) hold the height and width.
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC && length >= 7 &&
        size.width == 0)
    {
      size = {static_cast<int64_t>(bytes[pos + 7]) << 8 | bytes[pos + 8],
              static_cast<int64_t>(bytes[pos + 5]) << 8 | bytes[pos + 6]};
      progressive = marker == 0xC2;
    }
    if (marker == 0xC4) check_huffman_tables(bytes.subspan(pos + 4, length - 2), name, defined);
    if (marker == 0xDA) check_scan_tables(bytes.subspan(pos + 4, length - 2), progressive, defined, name);
    pos += 2 + length;
    if (marker == 0xDA) {
      // Entropy-coded data: 0xFF is followed by 0x00 (a stuffed byte) or a restart
      // marker; anything else is the next marker.
      while (pos + 1 < bytes.size() &&
             !(bytes[pos] == 0xFF && bytes[pos + 1] != 0x00 && !(bytes[pos + 1] >= 0xD0 && bytes[pos + 1] <= 0xD7)))
        ++pos;
      if (pos + 1 >= bytes.size()) truncated();
    }
  }
}

}  // namespace

Image decode_image(std::span<const unsigned char> bytes, const std::string& name, int64_t max_pixels) {
  static const unsigned char kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  const bool png = bytes.size() >= 8 && std::memcmp(bytes.data(), kPng, 8) == 0;
  const bool jpeg = bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
  if (!png && !jpeg) fail("cannot read image '{}': neither a PNG nor a JPEG file", name);
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) fail("cannot read image '{}': file larger than 2 GiB", name);
  // The declared size is checked before stb allocates anything.
  const DeclaredSize declared = png ? check_png_chunks(bytes, name) : check_jpeg_segments(bytes, name);
  // Each side is bounded before the product, which then cannot overflow.
  if (declared.width <= 0 || declared.height <= 0 || declared.width > max_pixels || declared.height > max_pixels ||
      declared.width * declared.height > max_pixels)
    fail("cannot read image '{}': it declares {}x{} pixels; hdiff reads 1 to {} pixels", name, declared.width,
         declared.height, max_pixels);
  int w = 0, h = 0, channels = 0;
  const int size = static_cast<int>(bytes.size());
  unsigned char* data = stbi_load_from_memory(bytes.data(), size, &w, &h, &channels, 3);
  if (!data) fail("cannot read image '{}': {} (JPEG and PNG are supported)", name, stbi_failure_reason());
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.assign(data, data + static_cast<size_t>(w) * static_cast<size_t>(h) * 3);
  stbi_image_free(data);
  return img;
}

Image read_image(const fs::path& path) {
  const std::string content = read_input_file(path, "image", kMaxArrayFileBytes);
  return decode_image(std::span(reinterpret_cast<const unsigned char*>(content.data()), content.size()),
                      path.string());
}

namespace {
void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}
}  // namespace

std::string png_bytes(const Image& image) {
  std::string out;
  if (!stbi_write_png_to_func(append_bytes, &out, image.width, image.height, 3, image.rgb.data(), image.width * 3))
    fail("cannot encode a {}x{} PNG", image.width, image.height);
  return out;
}

void write_png(const fs::path& path, const Image& image) { write_file_atomic(path, png_bytes(image)); }

namespace {

double filter_support(Filter f) { return f == Filter::box ? 0.5 : f == Filter::bilinear ? 1.0 : 2.0; }

double filter_weight(Filter f, double x) {
  switch (f) {
    case Filter::box: return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0;
    case Filter::bilinear: x = std::abs(x); return x < 1.0 ? 1.0 - x : 0.0;
    case Filter::bicubic: {
      constexpr double a = -0.5;
      x = std::abs(x);
      if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
      if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
      return 0.0;
    }
  }
  return 0.0;
}

// Window start and normalised weights of every output position (PIL's precompute_coeffs).
struct Coefficients {
  std::vector<int> start;
  std::vector<int> count;
  std::vector<std::vector<double>> weights;
};

Coefficients coefficients(int in_size, int out_size, Filter f) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = filter_support(f) * filterscale;
  Coefficients c;
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    int xmax = std::min(static_cast<int>(center + support + 0.5), in_size) - xmin;
    std::vector<double> w(static_cast<size_t>(std::max(xmax, 0)));
    double total = 0.0;
    for (int x = 0; x < xmax; ++x) {
      w[static_cast<size_t>(x)] = filter_weight(f, (x + xmin - center + 0.5) / filterscale);
      total += w[static_cast<size_t>(x)];
    }
    if (total != 0.0)
      for (auto& v : w) v /= total;
    c.start.push_back(xmin);
    c.count.push_back(xmax);
    c.weights.push_back(std::move(w));
  }
  return c;
}

uint8_t to_u8(double v) { return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L)); }

Image resample_horizontal(const Image& in, int width, Filter f) {
  const Coefficients c = coefficients(in.width, width, f);
  Image out{width, in.height, std::vector<uint8_t>(static_cast<size_t>(width) * in.height * 3)};
  for (int y = 0; y < in.height; ++y)
    for (int x = 0; x < width; ++x)
      for (int ch = 0; ch < 3; ++ch) {
        double s = 0.0;
        for (int k = 0; k < c.count[static_cast<size_t>(x)]; ++k)
          s += c.weights[static_cast<size_t>(x)][static_cast<size_t>(k)] *
               in.rgb[(static_cast<size_t>(y) * in.width + c.start[static_cast<size_t>(x)] + k) * 3 + ch];
        out.rgb[(static_cast<size_t>(y) * width + x) * 3 + ch] = to_u8(s);
      }
  return out;
}

Image resample_vertical(const Image& in, int height, Filter f) {
  const Coefficients c = coefficients(in.height, height, f);
  Image out{in.width, height, std::vector<uint8_t>(static_cast<size_t>(in.width) * height * 3)};
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < in.width; ++x)
      for (int ch = 0; ch < 3; ++ch) {
        double s = 0.0;
        for (int k = 0; k < c.count[static_cast<size_t>(y)]; ++k)
          s += c.weights[static_cast<size_t>(y)][static_cast<size_t>(k)] *
               in.rgb[(static_cast<size_t>(c.start[static_cast<size_t>(y)] + k) * in.width + x) * 3 + ch];
        out.rgb[(static_cast<size_t>(y) * in.width + x) * 3 + ch] = to_u8(s);
      }
  return out;
}

}  // namespace

Image resize(const Image& image, int width, int height, Filter filter) {
  if (width <= 0 || height <= 0) fail("cannot resize an image to {}x{}", width, height);
  Image out = image;
  if (width != image.width) out = resample_horizontal(out, width, filter);
  if (height != image.height) out = resample_vertical(out, height, filter);
  return out;
}

Image crop(const Image& image, int x, int y, int width, int height) {
  HDIFF_CHECK(x >= 0 && y >= 0 && x + width <= image.width && y + height <= image.height);
  Image out{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
  for (int r = 0; r < height; ++r)
    std::memcpy(&out.rgb[static_cast<size_t>(r) * width * 3],
                &image.rgb[(static_cast<size_t>(y + r) * image.width + x) * 3], static_cast<size_t>(width) * 3);
  return out;
}

Image center_crop_adm(const Image& image, int size) {
  Image img = image;
  while (std::min(img.width, img.height) >= 2 * size) img = resize(img, img.width / 2, img.height / 2, Filter::box);
  const double scale = static_cast<double>(size) / std::min(img.width, img.height);
  // Python's round() rounds halves to even, as nearbyint does by default.
  const int w = static_cast<int>(std::nearbyint(img.width * scale));
  const int h = static_cast<int>(std::nearbyint(img.height * scale));
  img = resize(img, w, h, Filter::bicubic);
  return crop(img, (img.width - size) / 2, (img.height - size) / 2, size, size);
}

Image resize_center_crop(const Image& image, int resize_to, int crop_size) {
  // torchvision: the short side becomes resize_to, the long side int(resize_to * long / short).
  int w, h;
  if (image.width <= image.height) {
    w = resize_to;
    h = static_cast<int>(static_cast<int64_t>(resize_to) * image.height / image.width);
  } else {
    h = resize_to;
    w = static_cast<int>(static_cast<int64_t>(resize_to) * image.width / image.height);
  }
  Image img = resize(image, w, h, Filter::bilinear);
  if (crop_size > img.width || crop_size > img.height)
    fail("cannot centre-crop {}x{} from a {}x{} image", crop_size, crop_size, img.width, img.height);
  // torchvision rounds the crop offsets: int(round((size - crop) / 2.0)).
  const int left = static_cast<int>(std::nearbyint((img.width - crop_size) / 2.0));
  const int top = static_cast<int>(std::nearbyint((img.height - crop_size) / 2.0));
  return crop(img, left, top, crop_size, crop_size);
}

namespace {
bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}
}  // namespace

std::vector<fs::path> list_images(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("input folder '{}' does not exist or is not a folder", dir.string());
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && is_image_file(entry.path())) {
      out.push_back(entry.path().filename());
    } else if (entry.is_directory()) {
      for (const auto& inner : fs::directory_iterator(entry.path()))
        if (inner.is_regular_file() && is_image_file(inner.path()))
          out.push_back(entry.path().filename() / inner.path().filename());
    }
  }
  std::sort(out.begin(), out.end());
  if (out.empty()) fail("no .png/.jpg/.jpeg images in '{}' or its subfolders", dir.string());
  // Outputs are named by the stem (a.jpg -> a.png): two inputs with one stem would share an output.
  std::map<fs::path, fs::path> by_stem;
  for (const auto& name : out) {
    auto [it, added] = by_stem.emplace(fs::path(name).replace_extension(), name);
    if (!added)
      fail("'{}' and '{}' in '{}' differ only in their extension and would share one output name; rename one",
           it->second.string(), name.string(), dir.string());
  }
  return out;
}

std::vector<float> to_planar_pm1(const Image& image) {
  const size_t plane = static_cast<size_t>(image.width) * image.height;
  std::vector<float> out(plane * 3);
  for (size_t i = 0; i < plane; ++i)
    for (size_t ch = 0; ch < 3; ++ch) out[ch * plane + i] = image.rgb[i * 3 + ch] / 127.5f - 1.0f;
  return out;
}

Image from_planar_pm1(const float* planar, int width, int height) {
  const size_t plane = static_cast<size_t>(width) * height;
  Image img{width, height, std::vector<uint8_t>(plane * 3)};
  for (size_t i = 0; i < plane; ++i)
    for (size_t ch = 0; ch < 3; ++ch) {
      const float v = std::clamp((planar[ch * plane + i] + 1.0f) * 127.5f, 0.0f, 255.0f);
      img.rgb[i * 3 + ch] = static_cast<uint8_t>(v);
    }
  return img;
}

}  // namespace hdiff::image
