#include "image/experiment/image_experiment.h"

#include <fmt/format.h>

#include <optional>
#include <tuple>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include "cluster/cluster.h"
#include "common/error.h"
#include "common/input_file.h"
#include "common/output.h"
#include "common/progress.h"
#include "common/toml_input.h"
#include "common/version.h"
#include "image/diffusion/diffusion_schedule.h"
#include "image/diffusion/forward_backward_job.h"
#include "image/diffusion/sampler.h"
#include "image/experiment/experiment_analysis.h"
#include "image/experiment/image_experiment_config.h"
#include "image/io/idx.h"
#include "image/io/image_io.h"
#include "image/models/adm_config.h"
#include "image/models/adm_unet.h"
#include "image/models/convnext.h"
#include "image/probe/probe_figures.h"
#include "image/probe/probe_job.h"
#include "image/probe/probe_pairs.h"
#include "image/probe/probe_stats.h"
#include "libtorch/torch_bridge.h"

namespace hdiff::image {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string read_text(const fs::path& file) {
  try {
    return read_toml_text(file, "experiment file");
  } catch (const FileError& e) {
    fail_file("{}; see docs/images.md for an example", e.what());
  }
}

void require_file(const fs::path& path, const char* what) {
  if (!fs::is_regular_file(path))
    fail("{} {} does not exist; see docs/images.md for where to get it", what, path.string());
}

bool is_json(const std::string& model) { return model.size() > 5 && model.substr(model.size() - 5) == ".json"; }

// The diffusion's flags, checked, and its number of respaced steps K.
std::pair<AdmConfig, int64_t> diffusion_config(const ImageExperimentConfig& c, const std::string& source) {
  auto config = is_json(c.model) ? read_adm_config(c.model) : adm_preset(c.model);
  config.validate();
  if (config.class_cond)
    fail("{}: model '{}' is class-conditional; the experiment runs unconditional models (SPEC §6), e.g. "
         "model = \"adm-256-uncond\"", source, c.model);
  if (c.steps > config.diffusion_steps)
    fail("{}: diffusion.steps = {} exceeds the model's {} diffusion steps", source, c.steps, config.diffusion_steps);
  const auto K = c.steps > 0 ? c.steps
                             : static_cast<int64_t>(space_timesteps(config.diffusion_steps, config.timestep_respacing).size());
  return {config, K};
}

// The class names a classifier config lists under "classes" (as `hdiff images
// train-classifier` writes them), for the picture grid; none when it lists none.
std::vector<std::string> class_names(const fs::path& classifier_config) {
  if (classifier_config.empty()) return {};
  const auto json = nlohmann::json::parse(read_input_file(classifier_config, "classifier config", kMaxConfigBytes), nullptr,
                                          false);
  std::vector<std::string> names;
  if (!json.is_object() || !json.contains("classes") || !json["classes"].is_array()) return {};
  for (const auto& name : json["classes"]) {
    if (!name.is_string()) return {};
    names.push_back(name.get<std::string>());
  }
  return names;
}

}  // namespace

std::vector<size_t> first_per_class(const std::vector<uint8_t>& labels, int num_classes, int64_t per_class,
                                    const std::string& source) {
  std::vector<std::vector<size_t>> chosen(static_cast<size_t>(num_classes));
  for (size_t i = 0; i < labels.size(); ++i) {
    HDIFF_CHECK(labels[i] < num_classes);
    auto& group = chosen[labels[i]];
    if (static_cast<int64_t>(group.size()) < per_class) group.push_back(i);
  }
  std::vector<size_t> out;
  for (size_t label = 0; label < chosen.size(); ++label) {
    if (static_cast<int64_t>(chosen[label].size()) < per_class)
      fail("{}: images.per_class = {}, but class {} has only {} test images", source, per_class, label,
           chosen[label].size());
    out.insert(out.end(), chosen[label].begin(), chosen[label].end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool run_image_experiment(const fs::path& config_file, const fs::path& out, const std::string& device_override) {
  return run_image_experiment_text(read_text(config_file), config_file.string(), config_file.parent_path(), out,
                                   device_override);
}

bool run_image_experiment_text(const std::string& experiment_text, const std::string& experiment_source,
                               const fs::path& base, const fs::path& out, const std::string& device_override) {
  const auto started = Clock::now();
  std::string text, source, device;
  std::optional<LabelledImages> test_set;
  std::vector<size_t> test_chosen;
  std::optional<ImageExperimentConfig> parsed;
  std::vector<std::string> probe_names;
  std::vector<std::string> names_of_classes;
  std::vector<fs::path> start_files;
  AdmConfig config;
  int64_t K = 0;
  fs::path record;
  // Every rank checks the same things; an error on any rank stops all of them, reported once.
  cluster::agree([&] {
    text = experiment_text;
    source = experiment_source;
    parsed.emplace(parse_image_experiment_config(text, source, base));
    const auto& c = *parsed;
    device = choose_device(device_override.empty() ? c.device : device_override);

    // Everything that can be checked is checked before the output folder is touched.
    require_file(c.diffusion_checkpoint, "diffusion checkpoint");
    require_file(c.classifier, "classifier checkpoint");
    std::tie(config, K) = diffusion_config(c, source);
    for (auto k : c.ks)
      if (k > K) fail("{}: run.k holds {}, but the diffusion has K = {} respaced steps", source, k, K);
    if (!c.fashion_mnist.empty()) {
      // The test images are written into the output folder below, so the diffusion
      // checkpoint is loaded once here: a bad one must leave nothing behind.
      test_set = read_fashion_mnist(c.fashion_mnist, "t10k");
      test_chosen = first_per_class(test_set->labels, kFashionMnistClasses, c.per_class, source);
      AdmUnet(config).load(c.diffusion_checkpoint);
    } else {
      if (!fs::is_directory(c.start)) fail("start image folder {} does not exist or is not a folder", c.start.string());
      start_files = image_files(c.start);
      // An unreadable image stops the run here, not hours later.
      for (const auto& file : start_files) (void)read_image(file);
    }
    if (!c.reference.empty()) {
      if (!fs::is_directory(c.reference))
        fail("reference image folder {} does not exist or is not a folder", c.reference.string());
      auto reference_files = image_files(c.reference);
      if (c.reference_limit > 0 && static_cast<size_t>(c.reference_limit) < reference_files.size())
        reference_files.resize(static_cast<size_t>(c.reference_limit));
      for (const auto& file : reference_files) (void)read_image(file);
    }
    if (!c.classifier_config.empty()) require_file(c.classifier_config, "classifier config");
    probe_names = load_convnext(c.classifier, c.classifier_config).probe_names();
    names_of_classes = class_names(c.classifier_config);
    if (fs::exists(out) && !fs::is_directory(out)) fail("cannot write to {}: it exists and is not a folder", out.string());
    record = out / "experiment.toml";
    if (fs::exists(record) && read_text(record) != text)
      fail("{} holds a run of a different experiment file ({} differs from {}); give another --out, or delete it",
           out.string(), record.string(), source);

    if (!fs::exists(out) && !fs::is_directory(out.has_parent_path() ? out.parent_path() : fs::path(".")))
      fail("cannot write to {}: folder {} does not exist; create it first", out.string(), out.parent_path().string());
  });
  const auto& c = *parsed;
  const fs::path start_dir = c.fashion_mnist.empty() ? c.start : out / "test-images";
  if (test_set) {
    // test-images/<label>/t10k_<index>.png, as `hdiff images fashion-mnist` names them.
    cluster::agree([&] {
      if (!cluster::is_root()) return;
      const int64_t pixels = test_set->height * test_set->width;
      for (size_t i : test_chosen) {
        const int label = test_set->labels[i];
        Image picture{static_cast<int>(test_set->width), static_cast<int>(test_set->height), {}};
        for (int64_t p = 0; p < pixels; ++p)
          picture.rgb.insert(picture.rgb.end(), 3, test_set->pixels[i * static_cast<size_t>(pixels) + static_cast<size_t>(p)]);
        const auto file = start_dir / std::to_string(label) / fmt::format("t10k_{:05d}.png", i);
        std::error_code error;
        fs::create_directories(file.parent_path(), error);
        if (error) fail("cannot create {}: {}", file.parent_path().string(), error.message());
        write_file_atomic(file, png_bytes(picture, PngColour::grey));
      }
      if (!fs::exists(record)) write_file_atomic(record, text);
    });
    start_files.resize(test_chosen.size());
  }

  ForwardBackwardJob fb;
  // The folder and its record appear only once the diffusion checkpoint has
  // loaded: a bad checkpoint leaves nothing behind (docs/images.md).
  fb.before_writing = [&] {
    fs::create_directories(out);
    write_file_atomic(record, text);  // also proves the folder writable before hours of work
    fmt::print(stderr, "hdiff: forward-backward of {} images at {} values of k (K = {})\n", start_files.size(),
               c.ks.size(), K);
  };
  fb.checkpoint = c.diffusion_checkpoint;
  if (is_json(c.model))
    fb.model_config = c.model;
  else
    fb.preset = c.model;
  fb.steps = static_cast<int>(c.steps);
  for (auto k : c.ks) fb.ks.push_back(static_cast<int>(k));
  fb.input_dir = start_dir;
  fb.out = out;
  fb.batch = static_cast<int>(c.diffusion_batch);
  fb.device = device;
  fb.precision = c.precision;
  fb.seed = c.seed;
  const auto fb_summary = run_forward_backward_job(fb);
  // The images are shared across ranks; the statistics and the probe are rank 0's.
  if (!cluster::is_root()) return true;
  if (fb_summary.interrupted) {
    fmt::print(stderr, "hdiff: interrupted: {} finished images are kept in {}; rerun the same command to continue\n",
               fb_summary.written, out.string());
    return false;
  }

  const auto stats_file = out / "stats.bin";
  if (!fs::exists(stats_file)) {
    const auto reference = c.reference.empty() ? out / "start" : c.reference;
    fmt::print(stderr, "hdiff: measuring whitening statistics on {}\n", reference.string());
    run_stats_job({c.classifier, reference, stats_file, c.classifier_batch,
                   c.reference.empty() ? 0 : c.reference_limit, device, c.classifier_config});
  }

  fmt::print(stderr, "hdiff: probing with the classifier\n");
  OutputDir results(out, Existing::replace, "hdiff images experiment");  // the tables, figures and run record appear together
  ProbeJob probe{c.classifier, stats_file, out / "start", out, {}, {}, K, c.classifier_batch, device,
                 c.classifier_config};
  const auto table = compute_probe_table(probe);
  if (table.ks != c.ks)
    fail("{} holds k folders other than run.k of {}; remove them or give another --out", out.string(), source);
  results.write("pairs.csv", pairs_csv(table));
  results.write("summary.csv", summary_csv(table));
  results.write("conditional.csv", conditional_csv(table));
  bool figures = draw_probe_figures(table, results.staged("pairs.csv").parent_path());
  const auto diffusion = GaussianDiffusion::from_config(config, c.steps > 0 ? std::to_string(c.steps) : "");
  TransitionPoints points;
  figures = write_experiment_analysis(table, out, results, diffusion, c.seed, c.patch,
                                      names_of_classes, points) && figures;
  auto optional_json = [](const std::optional<double>& x) { return x ? nlohmann::json(*x) : nlohmann::json(); };
  const nlohmann::json run = {
      {"hdiff_version", version()},
      {"git_commit", git_commit()},
      {"experiment_file", source},
      {"start_images", start_dir.string()},
      {"chi_peak_k_over_K", optional_json(points.chi_peak)},
      {"class_half_changed_k_over_K", optional_json(points.class_half_changed)},
      {"device", device},
      {"diffusion", describe(config)},
      {"num_steps", K},
      {"k", c.ks},
      {"images", table.images.size()},
      {"probe_points", probe_names},
      {"seed", c.seed},
      {"precision", c.precision},
      {"figures", figures},
      {"forward_backward_images_written", fb_summary.written},
      {"forward_backward_seconds", fb_summary.seconds},
      {"total_seconds", seconds_since(started)}};
  results.write("run.json", run.dump(2) + "\n");
  results.commit();
  fmt::print("{} images at {} values of k (K = {}); results in {}\n", table.images.size(), c.ks.size(), K,
             out.string());
  auto at = [](const std::optional<double>& x) { return x ? fmt::format("{:.3g}", *x) : std::string("nowhere"); };
  fmt::print("chi of patch changes peaks at k/K = {}; P(class changed) reaches 1/2 at k/K = {}\n",
             at(points.chi_peak), at(points.class_half_changed));
  return true;
}

}  // namespace hdiff::image
