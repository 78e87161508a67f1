// Image files and PIL-style resampling: PNG round trip, filter arithmetic,
// guided-diffusion's crop, folder listing.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <utility>

#include "common/error.h"
#include "image/io/image_io.h"

namespace fs = std::filesystem;
using namespace hdiff::image;

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
