#pragma once
// Pairing start images with their forward-backward results. A generated folder
// holds either one subfolder per k, named k<k> (k0, k25, k125, ...), each with one
// image per start image, or the images of a single k directly. A generated
// image belongs to the start image with the same relative path, extension aside
// (start photo.JPEG ↔ generated k50/photo.png).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hdiff::image {

// Start images, and for every k the generated image of each.
struct ImagePairs {
  std::vector<std::string> names;                          // relative paths without extension
  std::vector<std::filesystem::path> start;                // start image files, by name
  std::vector<int64_t> ks;                                 // ascending
  std::vector<std::vector<std::filesystem::path>> generated;  // generated[k index][name index]
};

// Image files (.png, .jpg, .jpeg) of `dir`, directly inside it or one level
// down, as full paths in name order. Errors name a missing or empty folder.
std::vector<std::filesystem::path> image_files(const std::filesystem::path& dir);

// The name an image is paired by: its path relative to `dir`, extension removed.
std::string image_key(const std::filesystem::path& dir, const std::filesystem::path& file);

// The k<k> subfolders of `dir` as (k, folder), ascending in k; empty if none.
std::vector<std::pair<int64_t, std::filesystem::path>> k_folders(const std::filesystem::path& dir);

// Pairs the images of `start_dir` with those of `generated_dir`. Without k<k>
// subfolders `single_k` gives the k of the images in `generated_dir` itself and
// is then required. Errors name the first image without a partner and the fix.
ImagePairs match_image_sets(const std::filesystem::path& start_dir,
                            const std::filesystem::path& generated_dir,
                            std::optional<int64_t> single_k);

}  // namespace hdiff::image
