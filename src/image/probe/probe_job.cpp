#include "image/probe/probe_job.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/error.h"
#include "common/output.h"
#include "common/progress.h"
#include "image/io/image_io.h"
#include "image/models/convnext.h"
#include "image/probe/probe.h"
#include "image/probe/probe_pairs.h"
#include "image/probe/probe_stats.h"
#include "libtorch/torch_bridge.h"

namespace hdiff::image {
namespace fs = std::filesystem;

namespace {

ConvNeXt load_classifier(const fs::path& path, const fs::path& config, const std::string& device) {
  if (!fs::is_regular_file(path))
    fail("classifier checkpoint {} does not exist; download torchvision's convnext_base-6075fbad.pth "
         "(see docs/images.md)", path.string());
  auto net = load_convnext(path, config);
  net.to_device(choose_device(device));
  return net;
}

void check_batch(int64_t batch_size) {
  if (batch_size < 1) fail("--batch must be at least 1, got {}", batch_size);
}

}  // namespace

void run_stats_job(const StatsJob& job) {
  check_batch(job.batch_size);
  if (job.limit < 0) fail("--limit must not be negative, got {}", job.limit);
  check_file_writable(job.out);
  if (!fs::is_directory(job.input))
    fail("reference image folder {} does not exist or is not a folder", job.input.string());
  auto images = image_files(job.input);
  if (images.empty()) fail("{} holds no .png or .jpg images", job.input.string());
  if (job.limit > 0 && static_cast<size_t>(job.limit) < images.size()) images.resize(static_cast<size_t>(job.limit));
  const auto net = load_classifier(job.classifier, job.classifier_config, job.device);
  install_interrupt_handler();
  ProgressBar bar(static_cast<int64_t>(images.size()), "stats");
  const auto stats = measure_stats(net, images, job.batch_size, [&](int64_t n) { bar.advance(n); });
  bar.finish();
  write_probe_stats(job.out, stats);
}

ProbeTable compute_probe_table(const ProbeJob& job) {
  check_batch(job.batch_size);
  if (job.num_steps < 0) fail("--num-steps must not be negative, got {}", job.num_steps);
  const auto stats = read_probe_stats(job.stats);
  const auto pairs = match_image_sets(job.start, job.generated, job.k);
  if (job.num_steps > 0)
    for (auto k : pairs.ks)
      if (k > job.num_steps)
        fail("k = {} is larger than the number of steps K = {}; check --num-steps", k, job.num_steps);
  const auto net = load_classifier(job.classifier, job.classifier_config, job.device);
  check_stats_match(stats, net.probe_names(), net.probe_channels(), job.stats.string());
  install_interrupt_handler();
  ProgressBar bar(static_cast<int64_t>(pairs.start.size() * pairs.ks.size()), "probe");
  ProbeTable table;
  table.images = pairs.names;
  table.probes = net.probe_names();
  table.ks = pairs.ks;
  table.num_steps = job.num_steps;
  table.results = probe_pairs(net, stats, pairs.start, pairs.generated, job.batch_size,
                              [&](int64_t n) { bar.advance(n); });
  bar.finish();
  return table;
}

ProbeTable run_probe_job(const ProbeJob& job) {
  OutputDir out(job.out, Existing::replace, "hdiff images probe");
  auto table = compute_probe_table(job);
  out.write("pairs.csv", pairs_csv(table));
  out.write("summary.csv", summary_csv(table));
  out.write("conditional.csv", conditional_csv(table));
  out.commit();
  return table;
}

}  // namespace hdiff::image
