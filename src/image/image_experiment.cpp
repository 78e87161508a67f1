#include "image/image_experiment.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/output.h"
#include "common/progress.h"
#include "common/random.h"
#include "image/adm_config.h"
#include "image/adm_unet.h"
#include "image/convnext.h"
#include "image/image_experiment_config.h"
#include "image/image_io.h"
#include "image/probe.h"
#include "image/probe_figures.h"
#include "image/probe_job.h"
#include "image/probe_pairs.h"
#include "image/sampler.h"

namespace hdiff::image {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail("cannot read {}", file.string());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void require_file(const fs::path& path, const char* what) {
  if (!fs::is_regular_file(path)) fail("{} {} does not exist; see docs/images.md for where to get it", what, path.string());
}

// The start images, read and cropped as guided-diffusion prepares its inputs,
// keyed by name. All are read before anything is written, so an unreadable one
// stops the run before it leaves files behind.
struct StartImages {
  std::vector<std::string> names;
  std::vector<Image> crops;
};

StartImages read_start_images(const ImageExperimentConfig& c, int size) {
  if (!fs::is_directory(c.start)) fail("start image folder {} does not exist or is not a folder", c.start.string());
  auto files = list_images(c.start);
  if (files.empty()) fail("{} holds no .png or .jpg images", c.start.string());
  if (c.limit > 0 && static_cast<size_t>(c.limit) < files.size()) files.resize(static_cast<size_t>(c.limit));
  StartImages out;
  for (const auto& file : files) {
    out.names.push_back(image_key(c.start, file));
    out.crops.push_back(center_crop_adm(read_image(file), size));
  }
  return out;
}

AdmConfig diffusion_config(const ImageExperimentConfig& c) {
  auto config = c.model.size() > 5 && c.model.substr(c.model.size() - 5) == ".json" ? read_adm_config(c.model)
                                                                                      : adm_preset(c.model);
  if (!c.respacing.empty()) config.timestep_respacing = c.respacing;
  config.validate();
  if (config.class_cond)
    fail("model '{}' is class-conditional; hdiff images experiment runs unconditional models (SPEC §6), "
         "e.g. model = \"adm-256-uncond\"", c.model);
  return config;
}

// Gaussian noise for image `index`, reverse step j of the run at k: a pure
// function of (seed, index, k, j), whatever the batch size or the resume point.
at::Tensor image_noise(uint64_t seed, size_t index, int64_t k, int j, int size) {
  const uint64_t key = mix64(seed ^ mix64(static_cast<uint64_t>(index) ^
                                          mix64((static_cast<uint64_t>(k) << 32) ^ static_cast<uint64_t>(j))));
  auto generator = at::detail::createCPUGenerator(key);
  return at::randn({3, size, size}, generator, at::TensorOptions().dtype(at::kFloat));
}

fs::path generated_path(const fs::path& out, int64_t k, const std::string& name) {
  return out / "generated" / fmt::format("k{}", k) / (name + ".png");
}

void write_image(const fs::path& path, const Image& image) {
  fs::create_directories(path.parent_path());
  write_png(path, image);
}

void run_forward_backward(const ImageExperimentConfig& c, const AdmConfig& config, const GaussianDiffusion& diffusion,
                          const StartImages& start, const fs::path& out, const std::string& device) {
  const int size = config.image_size, K = diffusion.num_steps();
  std::vector<std::vector<size_t>> todo(c.ks.size());
  int64_t total_steps = 0;
  for (size_t s = 0; s < c.ks.size(); ++s) {
    for (size_t i = 0; i < start.names.size(); ++i)
      if (!fs::exists(generated_path(out, c.ks[s], start.names[i]))) todo[s].push_back(i);
    total_steps += static_cast<int64_t>(todo[s].size()) * reverse_steps(static_cast<int>(c.ks[s]), K);
  }
  if (total_steps == 0) return;
  AdmUnet unet(config);
  unet.load(c.diffusion_checkpoint);
  unet.to(c10::Device(device), c.fp16);
  const ModelFn model = [&](const at::Tensor& x, const at::Tensor& t, const at::Tensor& y) {
    return unet.forward(x, t, y);
  };
  ProgressBar bar(total_steps, "forward-backward");
  const auto batch = static_cast<size_t>(c.diffusion_batch);
  for (size_t s = 0; s < c.ks.size(); ++s) {
    const int k = static_cast<int>(c.ks[s]);
    for (size_t b = 0; b < todo[s].size(); b += batch) {
      const std::vector<size_t> items(todo[s].begin() + static_cast<std::ptrdiff_t>(b),
                                      todo[s].begin() + static_cast<std::ptrdiff_t>(std::min(todo[s].size(), b + batch)));
      std::vector<at::Tensor> x0;
      for (auto i : items) {
        auto planar = to_planar_pm1(start.crops[i]);
        x0.push_back(at::from_blob(planar.data(), {3, size, size}, at::kFloat).clone());
      }
      const NoiseFn noise = [&](int j) {
        std::vector<at::Tensor> z;
        for (auto i : items) z.push_back(image_noise(c.seed, i, k, j, size));
        return at::stack(z);
      };
      const auto result = forward_backward(
          diffusion, model, at::stack(x0).to(c10::Device(device)), k, at::Tensor(), noise, SamplerOptions{}, false,
          [&] {
            bar.advance(static_cast<int64_t>(items.size()));
            if (interrupted())
              fail("interrupted; finished images are kept, rerun the same command to continue");
          });
      const auto samples = result.sample.to(at::kCPU, at::kFloat).contiguous();
      for (size_t n = 0; n < items.size(); ++n)
        write_image(generated_path(out, k, start.names[items[n]]),
                    from_planar_pm1(samples[static_cast<int64_t>(n)].data_ptr<float>(), size, size));
    }
  }
  bar.finish();
}

}  // namespace

void run_image_experiment(const fs::path& config_file, const fs::path& out, const std::string& device_override) {
  const auto started = Clock::now();
  const auto text = read_text(config_file);
  const auto c = parse_image_experiment_config(text, config_file.string(), config_file.parent_path());
  const auto device = resolve_device(device_override.empty() ? c.device : device_override);

  // Everything that can be checked is checked before the output folder is touched.
  require_file(c.diffusion_checkpoint, "diffusion checkpoint");
  require_file(c.classifier, "classifier checkpoint");
  if (!c.reference.empty() && !fs::is_directory(c.reference))
    fail("reference image folder {} does not exist or is not a folder", c.reference.string());
  const auto config = diffusion_config(c);
  const auto diffusion = GaussianDiffusion::from_config(config);
  const int K = diffusion.num_steps();
  for (auto k : c.ks)
    if (k > K) fail("{}: run.k holds {}, but the diffusion has K = {} respaced steps", config_file.string(), k, K);
  if (fs::exists(out) && !fs::is_directory(out)) fail("cannot write to {}: it exists and is not a folder", out.string());
  const auto record = out / "experiment.toml";
  if (fs::exists(record) && read_text(record) != text)
    fail("{} holds a run of a different experiment file ({} differs from {}); give another --out, or delete it",
         out.string(), record.string(), config_file.string());
  const auto start = read_start_images(c, config.image_size);
  const auto classifier_probe_names = load_convnext(c.classifier).probe_names();  // fails early on a bad file

  OutputDir results(out);  // checks writability; the final tables and figures go through it
  fs::create_directories(out / "start");
  write_file_atomic(record, text);
  for (size_t i = 0; i < start.names.size(); ++i) {
    const auto path = out / "start" / (start.names[i] + ".png");
    if (!fs::exists(path)) write_image(path, start.crops[i]);
  }
  install_interrupt_handler();

  const auto stats_file = out / "stats.bin";
  if (!fs::exists(stats_file)) {
    fmt::print(stderr, "hdiff: measuring whitening statistics on {}\n",
               c.reference.empty() ? (out / "start").string() : c.reference.string());
    run_stats_job({c.classifier, c.reference.empty() ? out / "start" : c.reference, stats_file, c.classifier_batch,
                   c.reference.empty() ? 0 : c.reference_limit, device});
  }
  const auto fb_started = Clock::now();
  run_forward_backward(c, config, diffusion, start, out, device);
  const double fb_seconds = seconds_since(fb_started);

  ProbeJob probe{c.classifier, stats_file, out / "start", out / "generated", {}, {}, K, c.classifier_batch, device};
  const auto table = compute_probe_table(probe);
  results.write("pairs.csv", pairs_csv(table));
  results.write("summary.csv", summary_csv(table));
  const bool figures = draw_probe_figures(table, results.staged("pairs.csv").parent_path());
  nlohmann::json run = {
      {"hdiff_version", HDIFF_VERSION},   {"git_commit", HDIFF_GIT_COMMIT},
      {"device", device},                 {"diffusion", describe(config)},
      {"num_steps", K},                   {"k", c.ks},
      {"images", start.names.size()},     {"probe_points", classifier_probe_names},
      {"seed", c.seed},                   {"fp16", c.fp16},
      {"figures", figures},               {"forward_backward_seconds_this_run", fb_seconds},
      {"total_seconds_this_run", seconds_since(started)}};
  results.write("run.json", run.dump(2) + "\n");
  results.commit();
  fmt::print("{} images at {} values of k (K = {}); results in {}\n", start.names.size(), c.ks.size(), K,
             out.string());
}

}  // namespace hdiff::image
