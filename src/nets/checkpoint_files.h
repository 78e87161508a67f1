#pragma once
// The names of the checkpoint files of `hdiff net train` (nets/net_checkpoint.h
// reads and writes them). Plain C++: no LibTorch.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hdiff::nets {

// "step-0000128.safetensors".
std::string checkpoint_name(int64_t step);

struct CheckpointFile {
  std::filesystem::path path;
  int64_t step = 0;
};
// The checkpoint files of `folder` by increasing step (other files are ignored).
std::vector<CheckpointFile> list_checkpoints(const std::filesystem::path& folder);

}  // namespace hdiff::nets
