#pragma once
// `hdiff images ...` in the core executable: the image commands live in
// hdiff-images (LibTorch), installed beside hdiff, which this hands over to.

#include <CLI/CLI.hpp>

namespace hdiff::cli {

// Name of the executable that holds the image commands, beside hdiff.
inline constexpr const char* kImagesExecutable = "hdiff-images";

// Replaces this process by hdiff-images with the same arguments; returns 2 with
// a one-line error when it is missing (a build without LibTorch) or cannot run.
int hand_over_to_images(int argc, char** argv);

// Lists `images` in `hdiff --help`; never runs, since main hands over first.
void add_images_placeholder(CLI::App& app);

}  // namespace hdiff::cli
