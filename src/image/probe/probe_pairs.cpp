#include "image/probe/probe_pairs.h"

#include <algorithm>
#include <map>
#include <regex>

#include "common/error.h"
#include "image/io/image_io.h"

namespace hdiff::image {
namespace fs = std::filesystem;

namespace {

// Images of a folder by key; two files with one key (a.png, a.jpg) are ambiguous.
std::map<std::string, fs::path> keyed_images(const fs::path& dir) {
  if (!fs::is_directory(dir)) fail("image folder {} does not exist or is not a folder", dir.string());
  std::map<std::string, fs::path> out;
  for (const auto& file : image_files(dir)) {
    const auto key = image_key(dir, file);
    if (!out.emplace(key, file).second)
      fail("{}: two images are named '{}' ({} and {}); keep one", dir.string(), key,
           out[key].filename().string(), file.filename().string());
  }
  return out;
}

}  // namespace

std::vector<fs::path> image_files(const fs::path& dir) {
  auto files = list_images(dir);  // relative to dir
  for (auto& f : files) f = dir / f;
  return files;
}

std::string image_key(const fs::path& dir, const fs::path& file) {
  auto rel = fs::relative(file, dir);
  rel.replace_extension();
  return rel.generic_string();
}

std::vector<std::pair<int64_t, fs::path>> k_folders(const fs::path& dir) {
  static const std::regex pattern("k([0-9]{1,9})");
  std::vector<std::pair<int64_t, fs::path>> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::smatch m;
    const auto name = entry.path().filename().string();
    if (entry.is_directory() && std::regex_match(name, m, pattern))
      out.emplace_back(std::stoll(m[1].str()), entry.path());
  }
  std::sort(out.begin(), out.end());
  for (size_t i = 1; i < out.size(); ++i)
    if (out[i].first == out[i - 1].first)
      fail("{}: folders {} and {} are both for k = {}; keep one", dir.string(),
           out[i - 1].second.filename().string(), out[i].second.filename().string(), out[i].first);
  return out;
}

ImagePairs match_image_sets(const fs::path& start_dir, const fs::path& generated_dir,
                            std::optional<int64_t> single_k) {
  const auto start = keyed_images(start_dir);
  auto sets = k_folders(generated_dir);
  if (sets.empty()) {
    if (!single_k)
      fail("{} has no k<k> subfolders (e.g. k50); pass --k to say which k its images were made "
           "at", generated_dir.string());
    sets.emplace_back(*single_k, generated_dir);
  } else if (single_k) {
    fail("{} has k<k> subfolders, which give k; drop --k", generated_dir.string());
  }
  ImagePairs pairs;
  for (const auto& [key, file] : start) {
    pairs.names.push_back(key);
    pairs.start.push_back(file);
  }
  for (const auto& [k, dir] : sets) {
    const auto generated = keyed_images(dir);
    std::vector<fs::path> files;
    for (const auto& key : pairs.names) {
      auto it = generated.find(key);
      if (it == generated.end())
        fail("image sets do not match: {} has no image for start image '{}' ({} start images, {} "
             "generated); give the folders of one forward-backward run", dir.string(), key,
             start.size(), generated.size());
      files.push_back(it->second);
    }
    for (const auto& [key, file] : generated)
      if (!start.count(key))
        fail("image sets do not match: generated image {} has no start image '{}' in {}; give the "
             "folders of one forward-backward run", file.string(), key, start_dir.string());
    pairs.ks.push_back(k);
    pairs.generated.push_back(std::move(files));
  }
  return pairs;
}

}  // namespace hdiff::image
