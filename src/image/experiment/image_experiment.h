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
//   run.json               what made the results (version, device, K, timings)
// Every image is written whole as soon as it is made; a rerun with the same file
// skips what exists, so an interrupted run continues where it stopped.

#include <filesystem>
#include <string>

namespace hdiff::image {

// Runs (or continues) the experiment of `config_file` into `out`; a non-empty
// `device` overrides the file's run.device. Returns false when Ctrl-C stopped
// it (finished images are kept).
bool run_image_experiment(const std::filesystem::path& config_file, const std::filesystem::path& out,
                          const std::string& device);

}  // namespace hdiff::image
