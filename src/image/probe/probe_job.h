#pragma once
// The jobs behind `hdiff images stats` and `hdiff images probe`: read the
// classifier and the images, measure, write the results all at once (an error
// or Ctrl-C leaves no partial file).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "image/probe/probe_table.h"

namespace hdiff::image {

// `hdiff images stats`: per-channel statistics of every probe point over a reference set.
struct StatsJob {
  std::filesystem::path classifier;  // torchvision ConvNeXt state dict
  std::filesystem::path input;       // reference images (folder, optionally one level of subfolders)
  std::filesystem::path out;         // stats.bin to write
  int64_t batch_size = 16;           // images per classifier call
  int64_t limit = 0;                 // use at most this many images (0: all)
  std::string device = "auto";       // "auto", "cpu", "cuda", "cuda:N"
  std::filesystem::path classifier_config;  // its input pipeline (JSON); empty: ImageNet's
};

// `hdiff images probe`: classes and whitened similarities of start/generated pairs.
struct ProbeJob {
  std::filesystem::path classifier;   // torchvision ConvNeXt state dict
  std::filesystem::path stats;        // stats.bin of the same classifier
  std::filesystem::path start;        // start images
  std::filesystem::path generated;    // k<k>/ subfolders, or one set with `k`
  std::filesystem::path out;          // folder for pairs.csv and summary.csv
  std::optional<int64_t> k;           // k of a generated folder without k<k> subfolders
  int64_t num_steps = 0;              // K, for the k_over_K column (0: unknown)
  int64_t batch_size = 16;            // images per classifier call
  std::string device = "auto";        // "auto", "cpu", "cuda", "cuda:N"
  std::filesystem::path classifier_config;  // its input pipeline (JSON); empty: ImageNet's
};

// Measures the statistics and writes stats.bin.
void run_stats_job(const StatsJob& job);

// Probes every pair and returns the results without writing anything.
ProbeTable compute_probe_table(const ProbeJob& job);

// Runs the probe and writes pairs.csv and summary.csv into job.out.
ProbeTable run_probe_job(const ProbeJob& job);

}  // namespace hdiff::image
