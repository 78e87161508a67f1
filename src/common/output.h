#pragma once
// All-or-nothing output: files are written to a staging place and moved into
// their final names only when the whole job has succeeded, so a failed or
// interrupted run never leaves a partial file behind.

#include <filesystem>
#include <string>
#include <vector>

namespace hdiff {

// Writes `content` to `path` through a temporary file in the same folder and a
// rename. Errors name the path.
void write_file_atomic(const std::filesystem::path& path, const std::string& content);

// Checks, before any work, that a file can be created at `path`.
void check_file_writable(const std::filesystem::path& path);

// An output folder filled in one step. The constructor checks writability at
// once (before any work) by creating, and removing, a hidden staging folder
// beside `dir`; the folder comes back when the first file is staged.
class OutputDir {
 public:
  explicit OutputDir(std::filesystem::path dir);
  ~OutputDir();
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;

  // Where to write the file `name` now; it reaches `dir` at commit().
  std::filesystem::path staged(const std::string& name) const;
  // Writes `content` as staged file `name`.
  void write(const std::string& name, const std::string& content) const;
  // Moves every staged file into `dir` (created if missing).
  void commit();
  // The final folder.
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::filesystem::path staging_;
  bool committed_ = false;
};

}  // namespace hdiff
