// PIL's resampling rebuilt from its definition: per output pixel a window of
// input pixels weighted by the filter, stretched by the scale factor when
// shrinking; crops and folder listing. Files are read and written in image_files.cpp.

#include "image/io/image_io.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <map>

#include "common/error.h"

namespace hdiff::image {
namespace fs = std::filesystem;

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

uint8_t luminance(uint8_t r, uint8_t g, uint8_t b) {
  return static_cast<uint8_t>((uint32_t{r} * 19595 + uint32_t{g} * 38470 + uint32_t{b} * 7471 + 0x8000) >> 16);
}

std::vector<float> to_planar_pm1(const Image& image, int channels) {
  HDIFF_CHECK(channels == 1 || channels == 3);
  const size_t plane = static_cast<size_t>(image.width) * image.height;
  std::vector<float> out(plane * static_cast<size_t>(channels));
  if (channels == 1) {
    for (size_t i = 0; i < plane; ++i)
      out[i] = luminance(image.rgb[i * 3], image.rgb[i * 3 + 1], image.rgb[i * 3 + 2]) / 127.5f - 1.0f;
    return out;
  }
  for (size_t i = 0; i < plane; ++i)
    for (size_t ch = 0; ch < 3; ++ch) out[ch * plane + i] = image.rgb[i * 3 + ch] / 127.5f - 1.0f;
  return out;
}

Image from_planar_pm1(const float* planar, int width, int height, int channels) {
  HDIFF_CHECK(channels == 1 || channels == 3);
  const size_t plane = static_cast<size_t>(width) * height;
  Image img{width, height, std::vector<uint8_t>(plane * 3)};
  for (size_t i = 0; i < plane; ++i)
    for (size_t ch = 0; ch < 3; ++ch) {
      const size_t source = channels == 1 ? i : ch * plane + i;
      const float v = std::clamp((planar[source] + 1.0f) * 127.5f, 0.0f, 255.0f);
      img.rgb[i * 3 + ch] = static_cast<uint8_t>(v);
    }
  return img;
}

}  // namespace hdiff::image
