#pragma once
// Image files and resampling: JPEG/PNG reading, PNG writing, and PIL-compatible
// resizing (the filters torchvision and guided-diffusion use through PIL), so that
// preprocessing matches the Python pipelines the models were trained with.
// PNG goes through libpng, JPEG through libjpeg-turbo (PIL's decoder).
// Guarantees: declared sizes are bounded before any pixel buffer is allocated,
// every PNG chunk CRC is checked, a library warning about damaged data is an
// error, and a bad file is an Error naming it.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace hdiff::image {

// An 8-bit RGB image, rows top to bottom, pixels interleaved (H×W×3).
struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;
};

// Most pixels (width · height) an image may declare: 8192 × 8192.
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 26;

// Reads a JPEG or PNG file as RGB (grey and alpha are converted as PIL's
// convert("RGB") does: grey replicated, alpha dropped). Errors name the file.
// A PNG must be whole up to IEND with correct chunk CRCs, a JPEG must end with
// its EOI marker and hold at most 500 scans, and the declared size is bounded
// before decoding.
Image read_image(const std::filesystem::path& path);

// Decodes the bytes of a JPEG or PNG file (as read_image); `name` names it in
// errors. Images declaring more than `max_pixels` are refused before decoding.
Image decode_image(std::span<const unsigned char> bytes, const std::string& name,
                   int64_t max_pixels = kMaxImagePixels);

// How a PNG stores its pixels: RGB, or one grey sample per pixel (the luminance
// of luminance(), which is the pixel's value when its three channels are equal).
enum class PngColour { rgb, grey };

// Encodes an image as PNG bytes.
std::string png_bytes(const Image& image, PngColour colour = PngColour::rgb);

// Writes a PNG file atomically (temporary file and rename).
void write_png(const std::filesystem::path& path, const Image& image, PngColour colour = PngColour::rgb);

// PIL's convert("L") of one pixel: (19595 R + 38470 G + 7471 B + 2^15) >> 16, so a
// grey pixel (R = G = B = v) gives v exactly.
uint8_t luminance(uint8_t r, uint8_t g, uint8_t b);

// Resampling filters with PIL's definitions (bicubic uses a = -0.5).
enum class Filter { box, bilinear, bicubic };

// Resizes like PIL's Image.resize: separable convolution whose support widens
// when shrinking (antialiasing), each pass rounded to 8 bits.
Image resize(const Image& image, int width, int height, Filter filter);

// Crops the rectangle at (x, y) of size width×height; it must lie inside.
Image crop(const Image& image, int x, int y, int width, int height);

// guided-diffusion's preprocessing (center_crop_arr): halve with a box filter
// while the short side is at least 2·size, bicubic-resize the short side to
// `size`, then crop the centre size×size.
Image center_crop_adm(const Image& image, int size);

// torchvision's classification preprocessing on a PIL image: bilinear resize of
// the short side to `resize_to` (antialiased), then a centre crop crop×crop.
Image resize_center_crop(const Image& image, int resize_to, int crop_size);

// Image files (.png, .jpg, .jpeg, case-insensitive) under `dir`, sorted by their
// path relative to `dir`: either directly inside it or one level down (one
// subfolder per class, as in the ImageNet validation layout). Two files that
// differ only in extension (a.png, a.jpg) are an error: they would share an output.
std::vector<std::filesystem::path> list_images(const std::filesystem::path& dir);

// Pixels as floats in [-1, 1], channel-planar (channels×H×W), the diffusion models'
// range. `channels` is 3 (RGB) or 1 (the luminance of luminance(): a greyscale model
// reads a PNG as PIL's convert("L") would).
std::vector<float> to_planar_pm1(const Image& image, int channels = 3);
// The inverse of to_planar_pm1: values are clipped to [-1, 1] and rounded to 8 bits
// as guided-diffusion does ((x + 1) · 127.5, clamped, truncated). With one channel
// the grey value is replicated to R, G and B (write it with PngColour::grey).
Image from_planar_pm1(const float* planar, int width, int height, int channels = 3);

}  // namespace hdiff::image
