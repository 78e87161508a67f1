// Image files and PIL-style resampling: PNG round trip, every PNG colour type
// and JPEG sampling decoded to RGB as PIL's convert("RGB") does, filter
// arithmetic, guided-diffusion's crop, folder listing.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <utility>

#include <zlib.h>

#include "common/crc32.h"
#include "common/error.h"
#include "image/io/image_io.h"
#include "image/io/jpeg_writer.h"
#include "image/io/png_chunks.h"

namespace fs = std::filesystem;
using namespace hdiff::image;
using hdiff::testing::be32;
using hdiff::testing::chunk;

namespace {

fs::path temp_dir() {
  const fs::path dir = fs::temp_directory_path() / ("hdiff_test_image_io_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

Image pattern(int w, int h) {
  Image img{w, h, std::vector<uint8_t>(static_cast<size_t>(w) * h * 3)};
  for (size_t i = 0; i < img.rgb.size(); ++i) img.rgb[i] = static_cast<uint8_t>((i * 13) % 256);
  return img;
}

// A PNG of the given header fields whose filtered scanlines (filter byte first) are `raw`.
std::string png_file(uint32_t width, uint32_t height, int depth, int colour_type, const std::string& raw,
                     const std::string& extra_chunks = "", int interlace = 0) {
  std::string packed(compressBound(raw.size()), '\0');
  uLongf size = packed.size();
  compress(reinterpret_cast<Bytef*>(packed.data()), &size, reinterpret_cast<const Bytef*>(raw.data()), raw.size());
  packed.resize(size);
  const std::string header = be32(width) + be32(height) +
                             std::string{static_cast<char>(depth), static_cast<char>(colour_type), 0, 0,
                                         static_cast<char>(interlace)};
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", header) + extra_chunks + chunk("IDAT", packed) +
         chunk("IEND", "");
}
std::vector<uint8_t> decoded(const std::string& file) {
  return decode_image({reinterpret_cast<const unsigned char*>(file.data()), file.size()}, "test").rgb;
}

}  // namespace

TEST(ImageIo, PngRoundTrip) {
  const Image img = pattern(7, 5);
  const fs::path p = temp_dir() / "a.png";
  write_png(p, img);
  const Image back = read_image(p);
  EXPECT_EQ(back.width, 7);
  EXPECT_EQ(back.height, 5);
  EXPECT_EQ(back.rgb, img.rgb);
  std::ofstream(temp_dir() / "bad.png") << "not an image";
  EXPECT_THROW(read_image(temp_dir() / "bad.png"), hdiff::Error);
}

TEST(ImageIo, BoxHalvingAveragesBlocks) {
  Image img{2, 2, {0, 0, 0, 255, 255, 255, 255, 255, 255, 0, 0, 0}};
  const Image half = resize(img, 1, 1, Filter::box);
  ASSERT_EQ(half.rgb.size(), 3u);
  EXPECT_EQ(half.rgb[0], 128);  // (0 + 255) / 2 = 127.5 rounds up in each pass, as in PIL
}

TEST(ImageIo, FiltersKeepConstantImages) {
  Image img{9, 7, std::vector<uint8_t>(9 * 7 * 3, 77)};
  for (Filter f : {Filter::box, Filter::bilinear, Filter::bicubic}) {
    const Image r = resize(img, 4, 11, f);
    EXPECT_EQ(r.width, 4);
    EXPECT_EQ(r.height, 11);
    for (uint8_t v : r.rgb) EXPECT_EQ(v, 77);
  }
}

// Bilinear and bicubic (a = -0.5) weights are normalised and symmetric, so they
// reproduce a linear ramp exactly away from the borders; where each output
// pixel samples the input is PIL's convention: output centre x + 0.5 at input
// (x + 0.5)·scale, that is input pixel index (x + 0.5)·scale - 0.5. A wrong
// centre shifts the ramp by a quarter pixel or more: several grey levels here.
TEST(ImageIo, FiltersReproduceARampAtPilsPixelCentres) {
  for (const auto& [from, to] : {std::pair{16, 64}, std::pair{128, 32}, std::pair{64, 48}, std::pair{30, 70}})
    for (const bool horizontal : {true, false}) {
      const double slope = std::floor(240.0 / (from - 1));  // whole grey levels per pixel: an exact ramp
      const int width = horizontal ? from : 3, height = horizontal ? 3 : from;
      Image ramp{width, height, std::vector<uint8_t>(static_cast<size_t>(width * height * 3))};
      for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
          for (int c = 0; c < 3; ++c)
            ramp.rgb[static_cast<size_t>((y * width + x) * 3 + c)] =
                static_cast<uint8_t>(std::lround(5 + slope * (horizontal ? x : y)));
      for (const auto& [filter, radius] : {std::pair{Filter::bilinear, 1.0}, std::pair{Filter::bicubic, 2.0}}) {
        const Image out = resize(ramp, horizontal ? to : 3, horizontal ? 3 : to, filter);
        const double scale = static_cast<double>(from) / to, support = radius * std::max(scale, 1.0);
        int checked = 0;
        for (int k = 0; k < to; ++k) {
          const double centre = (k + 0.5) * scale;
          if (centre - support < 0 || centre + support > from) continue;  // the border's weights are cut
          const int x = horizontal ? k : 1, y = horizontal ? 1 : k;
          const double expected = 5 + slope * (centre - 0.5);
          EXPECT_NEAR(out.rgb[static_cast<size_t>((y * out.width + x) * 3)], expected, 0.5 + 1e-9)
              << from << " -> " << to << (horizontal ? " across" : " down") << ", pixel " << k;
          ++checked;
        }
        EXPECT_GT(checked, to / 3) << from << " -> " << to;
      }
    }
}

TEST(ImageIo, AdmCropIsCentredSquare) {
  const Image wide = pattern(100, 50);
  const Image c = center_crop_adm(wide, 32);
  EXPECT_EQ(c.width, 32);
  EXPECT_EQ(c.height, 32);
  const Image big = center_crop_adm(pattern(300, 260), 64);  // box-halved once, then bicubic
  EXPECT_EQ(big.width, 64);
  EXPECT_EQ(big.height, 64);
  const Image same = center_crop_adm(pattern(32, 32), 32);
  EXPECT_EQ(same.rgb, pattern(32, 32).rgb);
}

TEST(ImageIo, PlanarConversionFollowsGuidedDiffusion) {
  const Image img = pattern(4, 3);
  const auto planar = to_planar_pm1(img);
  ASSERT_EQ(planar.size(), 36u);
  EXPECT_FLOAT_EQ(planar[0], img.rgb[0] / 127.5f - 1.0f);
  EXPECT_FLOAT_EQ(planar[12], img.rgb[1] / 127.5f - 1.0f);  // green plane
  const Image back = from_planar_pm1(planar.data(), 4, 3);
  for (size_t i = 0; i < img.rgb.size(); ++i) EXPECT_LE(std::abs(back.rgb[i] - img.rgb[i]), 1);
  const std::vector<float> out_of_range(3, 2.0f);
  EXPECT_EQ(from_planar_pm1(out_of_range.data(), 1, 1).rgb[0], 255);
}

// A greyscale model's pixels: the luminance of PIL's convert("L") in, grey replicated out,
// and a grey PNG (colour type 0) that reads back as the same RGB image.
TEST(ImageIo, GreyPlanesAndGreyPngs) {
  EXPECT_EQ(luminance(255, 0, 0), 76);  // PIL: Image.new("RGB", (1, 1), (255, 0, 0)).convert("L")
  EXPECT_EQ(luminance(0, 255, 0), 150);
  EXPECT_EQ(luminance(0, 0, 255), 29);
  for (int v = 0; v < 256; ++v) ASSERT_EQ(luminance(v, v, v), v);
  const Image img = pattern(4, 3);
  const auto grey = to_planar_pm1(img, 1);
  ASSERT_EQ(grey.size(), 12u);
  for (size_t i = 0; i < 12; ++i)
    EXPECT_FLOAT_EQ(grey[i], luminance(img.rgb[3 * i], img.rgb[3 * i + 1], img.rgb[3 * i + 2]) / 127.5f - 1.0f);
  const Image back = from_planar_pm1(grey.data(), 4, 3, 1);
  ASSERT_EQ(back.rgb.size(), 36u);
  for (size_t i = 0; i < 12; ++i) {
    EXPECT_EQ(back.rgb[3 * i], back.rgb[3 * i + 1]);
    EXPECT_EQ(back.rgb[3 * i], back.rgb[3 * i + 2]);
    EXPECT_LE(std::abs(back.rgb[3 * i] - luminance(img.rgb[3 * i], img.rgb[3 * i + 1], img.rgb[3 * i + 2])), 1);
  }
  const std::string file = png_bytes(back, PngColour::grey);
  EXPECT_EQ(static_cast<int>(file[25]), 0);  // IHDR colour type: grey
  EXPECT_EQ(static_cast<int>(png_bytes(back)[25]), 2);  // RGB by default
  EXPECT_LT(file.size(), png_bytes(back).size());
  EXPECT_EQ(decoded(file), back.rgb);
}

TEST(ImageIo, ListsFlatAndClassFolders) {
  const fs::path dir = temp_dir() / "list";
  fs::remove_all(dir);
  fs::create_directories(dir / "n02");
  fs::create_directories(dir / "n01");
  write_png(dir / "z.PNG", pattern(2, 2));
  write_png(dir / "n02" / "b.png", pattern(2, 2));
  write_png(dir / "n01" / "c.jpg.png", pattern(2, 2));
  std::ofstream(dir / "notes.txt") << "x";
  const auto names = list_images(dir);
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0], fs::path("n01") / "c.jpg.png");
  EXPECT_EQ(names[1], fs::path("n02") / "b.png");
  EXPECT_EQ(names[2], fs::path("z.PNG"));
  fs::create_directories(temp_dir() / "empty");
  EXPECT_THROW(list_images(temp_dir() / "empty"), hdiff::Error);
}

TEST(ImageIo, EveryPngColourTypeBecomesRgbAsInPil) {
  using V = std::vector<uint8_t>;
  using namespace std::string_literals;
  // Grey 1-bit: 0 and 1 become 0 and 255, replicated in R, G and B.
  EXPECT_EQ(decoded(png_file(3, 1, 1, 0, "\x00\xa0"s)), (V{255, 255, 255, 0, 0, 0, 255, 255, 255}));
  // Grey 4-bit: v becomes 17·v.
  EXPECT_EQ(decoded(png_file(2, 1, 4, 0, "\x00\x3f"s)), (V{51, 51, 51, 255, 255, 255}));
  // RGB 16-bit: each sample keeps its high byte.
  EXPECT_EQ(decoded(png_file(1, 1, 16, 2, "\x00\x12\xff\x34\x80\xab\x01"s)), (V{0x12, 0x34, 0xab}));
  // Grey with alpha and RGBA: alpha is dropped, not composited.
  EXPECT_EQ(decoded(png_file(1, 1, 8, 4, "\x00\x50\x00"s)), (V{0x50, 0x50, 0x50}));
  EXPECT_EQ(decoded(png_file(1, 1, 8, 6, "\x00\x01\x02\x03\x00"s)), (V{1, 2, 3}));
  // Palette of 2 bits with a transparent entry: the palette colours, transparency ignored.
  EXPECT_EQ(
      decoded(png_file(2, 1, 2, 3, "\x00\x40"s, chunk("PLTE", "\x0a\x0b\x0c\x14\x15\x16"s) + chunk("tRNS", "\x00"s))),
      (V{0x14, 0x15, 0x16, 0x0a, 0x0b, 0x0c}));
  // Adam7 interlacing, 2×2: pass 1 holds (0,0), pass 6 (1,0), pass 7 the second row.
  EXPECT_EQ(decoded(png_file(2, 2, 8, 0, "\x00\x01\x00\x02\x00\x03\x04"s, "", 1)),
            (V{1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4}));
  // A gAMA chunk changes nothing: samples are not gamma-corrected (neither PIL nor stb did).
  EXPECT_EQ(decoded(png_file(1, 1, 8, 2, "\x00\x0a\x14\x1e"s, chunk("gAMA", be32(100000)))), (V{10, 20, 30}));
  // A damaged CRC in an ancillary chunk is an error, as in a critical one.
  std::string text = chunk("tEXt", "k\0v"s);
  text[text.size() - 1] ^= 1;
  const std::string damaged = png_file(1, 1, 8, 2, "\x00\x0a\x14\x1e"s, text);
  EXPECT_THROW(decoded(damaged), hdiff::Error);
}

TEST(ImageIo, JpegSamplingsAndProgressiveDecode) {
  // A smooth image, so that lossy coding stays within a few levels of it.
  Image smooth{37, 29, std::vector<uint8_t>(37 * 29 * 3)};
  for (int y = 0; y < 29; ++y)
    for (int x = 0; x < 37; ++x)
      for (int c = 0; c < 3; ++c)
        smooth.rgb[(static_cast<size_t>(y) * 37 + x) * 3 + c] = static_cast<uint8_t>(40 + 3 * x + 2 * y + 20 * c);
  for (const auto& [h, v, progressive, grey] :
       {std::tuple{2, 2, false, false}, std::tuple{2, 1, false, false}, std::tuple{1, 1, false, false},
        std::tuple{2, 2, true, false}, std::tuple{1, 1, false, true}}) {
    hdiff::testing::JpegOptions options;
    options.quality = 95;
    options.luma_h = h;
    options.luma_v = v;
    options.progressive = progressive;
    options.grey = grey;
    const std::string file = hdiff::testing::jpeg_bytes(smooth, options);
    const Image img = decode_image({reinterpret_cast<const unsigned char*>(file.data()), file.size()}, "test");
    ASSERT_EQ(img.width, 37);
    ASSERT_EQ(img.height, 29);
    int worst = 0;
    for (size_t i = 0; i < img.rgb.size(); ++i) {
      const int expected = grey ? smooth.rgb[i / 3 * 3] : smooth.rgb[i];  // grey: the red channel, replicated
      worst = std::max(worst, std::abs(img.rgb[i] - expected));
    }
    EXPECT_LE(worst, 6) << h << "x" << v << (progressive ? " progressive" : "") << (grey ? " grey" : "");
  }
}

TEST(ImageIo, JpegJunkBeforeAMarkerIsSkippedAsInPil) {
  // libjpeg warns about bytes between the entropy-coded data and the next
  // marker and skips them; PIL (and stb before) read such files, and some
  // ImageNet files have them. The pixels are those of the clean file.
  const std::string clean = hdiff::testing::jpeg_bytes(pattern(16, 16));
  const size_t end = clean.rfind("\xff\xd9");
  ASSERT_EQ(end, clean.size() - 2);
  const std::string junk = clean.substr(0, end) + "junk" + clean.substr(end);
  EXPECT_EQ(decoded(junk), decoded(clean));
  // Cut inside the entropy-coded data, the file is refused (libjpeg would fill in grey).
  EXPECT_THROW(decoded(clean.substr(0, clean.size() / 2)), hdiff::Error);
}

TEST(ImageIo, CmykJpegBecomesRgbAsInPil) {
  // Stored CMYK values (Adobe files store them inverted) become R = C·K/255 and so
  // on, rounded, as in PIL's convert("RGB") of such a file.
  hdiff::testing::JpegOptions options;
  options.quality = 100;
  for (int i = 0; i < 8 * 8; ++i) options.cmyk.insert(options.cmyk.end(), {200, 100, 50, 128});
  const std::string file = hdiff::testing::jpeg_bytes(Image{8, 8, std::vector<uint8_t>(8 * 8 * 3)}, options);
  const std::vector<uint8_t> rgb = decoded(file);
  ASSERT_EQ(rgb.size(), 8u * 8u * 3u);
  const int expected[3] = {100, 50, 25};  // 200·128/255, 100·128/255, 50·128/255
  for (size_t i = 0; i < rgb.size(); ++i) EXPECT_NEAR(rgb[i], expected[i % 3], 1) << i;
}
