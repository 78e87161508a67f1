#pragma once
// `hdiff images experiment`: the whole image experiment of SPEC §6 in one
// command. In the output folder:
//   experiment.toml        the experiment file the folder belongs to
//   start/<name>.png       the start images as the diffusion model sees them
//   k<k>/<name>.png        forward-backward results at every k
//                          (the layout of `hdiff images forward-backward`)
//   stats.bin              whitening statistics of the classifier's probe points
//   pairs.csv, summary.csv the probe's tables (see probe_table.h)
//   class_kept.{png,svg,dat}, similarity.{png,svg,dat}  figures and their data
//   similarity_split.csv, class_changed.csv, susceptibility.csv,
//   patch_correlations.csv, trajectories.{png,csv} and their figures
//                          (experiment_analysis.h, experiment_figures.h)
//   test-images/<label>/t10k_<index>.png  with [images] fashion_mnist: the chosen test images
//   run.json               what made the results (version, device, K, timings,
//                          where χ peaks and where the class is half lost)
// Every image is written whole as soon as it is made; a rerun with the same file
// skips what exists, so an interrupted run continues where it stopped.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hdiff::image {

// Runs (or continues) the experiment of `config_file` into `out`; a non-empty
// `device` overrides the file's run.device. Returns false when Ctrl-C stopped
// it (finished images are kept).
bool run_image_experiment(const std::filesystem::path& config_file, const std::filesystem::path& out,
                          const std::string& device);

// The same for experiment text (a preset): `source` names it in errors and in
// run.json, `base` resolves its relative paths.
bool run_image_experiment_text(const std::string& text, const std::string& source, const std::filesystem::path& base,
                               const std::filesystem::path& out, const std::string& device);

// Indices (ascending) of the first `per_class` images of every class 0..num_classes-1
// in index order; a class with fewer is an error naming `source`.
std::vector<size_t> first_per_class(const std::vector<uint8_t>& labels, int num_classes, int64_t per_class,
                                    const std::string& source);

}  // namespace hdiff::image
