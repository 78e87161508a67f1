#pragma once
// Per-channel activation statistics of the classifier's probe points over a
// reference image set, used to whiten activations before comparing them, and
// their file format (stats.bin).
//
// stats.bin, all integers and floats little-endian:
//   8 bytes  magic "HDIFFSTA"
//   u32      format version (1)
//   u64      number of reference images
//   u32      number of probe points P
//   P times: u32 name length, name bytes (UTF-8), u32 channel count C,
//            C × f64 channel means, C × f64 channel variances (population,
//            over images and spatial positions)

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hdiff::image {

// Mean and variance of every channel of one probe point.
struct ChannelStats {
  std::string name;           // probe point, e.g. "features.1.0"
  std::vector<double> mean;   // per channel
  std::vector<double> var;    // per channel, population variance
};

// Statistics of all probe points of one classifier.
struct ProbeStats {
  uint64_t num_images = 0;            // reference images they were measured on
  std::vector<ChannelStats> points;   // in the classifier's probe order
};

// The current stats.bin format version.
inline constexpr uint32_t kProbeStatsVersion = 1;

// Serialises stats in the stats.bin format.
std::string probe_stats_bytes(const ProbeStats& stats);
// Writes stats.bin atomically.
void write_probe_stats(const std::filesystem::path& path, const ProbeStats& stats);
// Reads stats.bin; errors name the file and what is wrong (not a stats file,
// other version, truncated, trailing bytes).
ProbeStats read_probe_stats(const std::filesystem::path& path);

// Checks that stats belong to a classifier with these probe points and channel
// counts; the error names the first mismatch and says to rerun `hdiff images stats`.
void check_stats_match(const ProbeStats& stats, const std::vector<std::string>& names,
                       const std::vector<int64_t>& channels, const std::string& stats_file);

}  // namespace hdiff::image
