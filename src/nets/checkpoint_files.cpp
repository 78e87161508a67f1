#include "nets/checkpoint_files.h"

#include <fmt/format.h>

#include <algorithm>
#include <regex>

namespace hdiff::nets {

namespace fs = std::filesystem;

std::string checkpoint_name(int64_t step) { return fmt::format("step-{:07d}.safetensors", step); }

std::vector<CheckpointFile> list_checkpoints(const fs::path& folder) {
  std::vector<CheckpointFile> files;
  std::error_code error;
  if (!fs::is_directory(folder, error)) return files;
  static const std::regex pattern(R"(step-([0-9]{7,})\.safetensors)");
  for (const auto& entry : fs::directory_iterator(folder)) {
    std::smatch match;
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, match, pattern)) files.push_back({entry.path(), std::stoll(match[1].str())});
  }
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.step < b.step; });
  return files;
}

}  // namespace hdiff::nets
