#pragma once
// Test archives in PyTorch's zip layout, shared by the checkpoint tests.

#include <gtest/gtest.h>
#include <zip.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace hdiff::testing {

// Writes `path` as a torch.save archive: archive/data.pkl holding `pickle` and
// archive/data/0, data/1, ... holding `storages`; returns `path`.
inline std::filesystem::path write_torch_archive(const std::filesystem::path& path, const std::string& pickle,
                                                 const std::vector<std::string>& storages) {
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  EXPECT_NE(z, nullptr);
  auto add = [&](const std::string& entry, const std::string& data) {
    char* copy = static_cast<char*>(malloc(data.size() + 1));  // libzip frees it (freep = 1)
    std::memcpy(copy, data.data(), data.size());
    zip_file_add(z, entry.c_str(), zip_source_buffer(z, copy, data.size(), 1), ZIP_FL_OVERWRITE);
  };
  add("archive/data.pkl", pickle);
  for (size_t i = 0; i < storages.size(); ++i) add("archive/data/" + std::to_string(i), storages[i]);
  zip_close(z);
  return path;
}

}  // namespace hdiff::testing
