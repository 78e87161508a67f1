#include "image/probe/probe_stats.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

#include "common/error.h"
#include "common/input_file.h"
#include "common/output.h"

namespace hdiff::image {
namespace {

constexpr char kMagic[8] = {'H', 'D', 'I', 'F', 'F', 'S', 'T', 'A'};

template <typename T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // the host is little-endian, as the format
  out.append(bytes, sizeof(T));
}

// Reads fields in order and reports truncation with the file name.
class Cursor {
 public:
  Cursor(const std::string& data, const std::string& file) : data_(data), file_(file) {}
  template <typename T>
  T get(const char* what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  std::string bytes(size_t n, const char* what) {
    need(n, what);
    auto s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  bool at_end() const { return pos_ == data_.size(); }
  size_t remaining() const { return data_.size() - pos_; }

 private:
  void need(size_t n, const char* what) {
    if (data_.size() - pos_ < n)
      fail("{}: stats file is truncated (reading {} at byte {}); make it again with "
           "`hdiff images stats`", file_, what, pos_);
  }
  const std::string& data_;
  const std::string& file_;
  size_t pos_ = 0;
};

}  // namespace

std::string probe_stats_bytes(const ProbeStats& stats) {
  std::string out(kMagic, sizeof(kMagic));
  put<uint32_t>(out, kProbeStatsVersion);
  put<uint64_t>(out, stats.num_images);
  put<uint32_t>(out, static_cast<uint32_t>(stats.points.size()));
  for (const auto& p : stats.points) {
    HDIFF_CHECK(p.mean.size() == p.var.size());
    put<uint32_t>(out, static_cast<uint32_t>(p.name.size()));
    out += p.name;
    put<uint32_t>(out, static_cast<uint32_t>(p.mean.size()));
    for (double m : p.mean) put<double>(out, m);
    for (double v : p.var) put<double>(out, v);
  }
  return out;
}

void write_probe_stats(const std::filesystem::path& path, const ProbeStats& stats) {
  write_file_atomic(path, probe_stats_bytes(stats));
}

ProbeStats read_probe_stats(const std::filesystem::path& path) {
  const auto file = path.string();
  std::string data;
  try {
    data = read_input_file(path, "stats file", kMaxArrayFileBytes);
  } catch (const FileError& e) {
    fail_file("{}; make it with `hdiff images stats --classifier F.pth --input DIR --out {}`", e.what(), file);
  }
  if (data.size() < sizeof(kMagic) || std::memcmp(data.data(), kMagic, sizeof(kMagic)) != 0)
    fail("{} is not an hdiff stats file (it does not start with HDIFFSTA); make it with "
         "`hdiff images stats`", file);
  Cursor cur(data, file);
  cur.bytes(sizeof(kMagic), "magic");
  const auto version = cur.get<uint32_t>("version");
  if (version != kProbeStatsVersion)
    fail("{}: stats format version {} is not supported (this hdiff reads version {}); make it "
         "again with `hdiff images stats`", file, version, kProbeStatsVersion);
  ProbeStats stats;
  stats.num_images = cur.get<uint64_t>("image count");
  const auto count = cur.get<uint32_t>("probe point count");
  for (uint32_t i = 0; i < count; ++i) {
    ChannelStats p;
    p.name = cur.bytes(cur.get<uint32_t>("name length"), "probe point name");
    const auto channels = cur.get<uint32_t>("channel count");
    // The count is checked against the bytes present before anything is allocated.
    if (cur.remaining() / (2 * sizeof(double)) < channels)
      fail("{}: stats file is truncated (probe point '{}' declares {} channels); make it again with "
           "`hdiff images stats`", file, p.name, channels);
    p.mean.resize(channels);
    p.var.resize(channels);
    for (auto& m : p.mean) m = cur.get<double>("channel means");
    for (auto& v : p.var) v = cur.get<double>("channel variances");
    for (uint32_t c = 0; c < channels; ++c)
      if (!std::isfinite(p.mean[c]) || !std::isfinite(p.var[c]) || p.var[c] < 0)
        fail("{}: probe point '{}' channel {} has mean {} and variance {}; a variance must be finite and "
             "non-negative, so the file is damaged: make it again with `hdiff images stats`", file, p.name, c,
             p.mean[c], p.var[c]);
    stats.points.push_back(std::move(p));
  }
  if (!cur.at_end())
    fail("{}: stats file has trailing bytes after its last probe point; it is damaged, make it "
         "again with `hdiff images stats`", file);
  return stats;
}

void check_stats_match(const ProbeStats& stats, const std::vector<std::string>& names,
                       const std::vector<int64_t>& channels, const std::string& stats_file) {
  HDIFF_CHECK(names.size() == channels.size());
  const auto fix = "; the stats were made with a different classifier, rerun `hdiff images stats` "
                   "with this one";
  if (stats.points.size() != names.size())
    fail("{}: has {} probe points but the classifier has {}{}", stats_file, stats.points.size(),
         names.size(), fix);
  for (size_t i = 0; i < names.size(); ++i) {
    const auto& p = stats.points[i];
    if (p.name != names[i])
      fail("{}: probe point {} is '{}' but the classifier's is '{}'{}", stats_file, i, p.name,
           names[i], fix);
    if (static_cast<int64_t>(p.mean.size()) != channels[i])
      fail("{}: probe point '{}' has {} channels but the classifier's has {}{}", stats_file,
           p.name, p.mean.size(), channels[i], fix);
  }
}

}  // namespace hdiff::image
