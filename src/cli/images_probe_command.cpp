// `hdiff images stats`, `hdiff images probe` and `hdiff images experiment`: the
// ConvNeXt probe of the image forward-backward experiment (SPEC §6).

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "cli/commands.h"
#include "cluster/cluster.h"
#include "common/error.h"
#include "image/experiment/image_experiment.h"
#include "image/experiment/image_presets.h"
#include "image/probe/probe_job.h"

namespace hdiff::cli {

namespace {

void add_stats(CLI::App& images) {
  auto job = std::make_shared<image::StatsJob>();
  auto* cmd = images.add_subcommand(
      "stats", "Per-channel mean and variance of every ConvNeXt probe point over reference images");
  cmd->add_option("--classifier", job->classifier, "torchvision ConvNeXt state dict (.pth or .safetensors)")
      ->required();
  cmd->add_option("--classifier-config", job->classifier_config,
                  "the classifier's input pipeline (JSON: resize, crop, channels, mean, std); default: ImageNet's");
  cmd->add_option("--input", job->input, "folder of reference images (.png/.jpg, optionally one level of subfolders)")
      ->required();
  cmd->add_option("--out", job->out, "stats file to write (e.g. stats.bin)")->required();
  cmd->add_option("--batch", job->batch_size, "images per classifier call")->capture_default_str();
  cmd->add_option("--limit", job->limit, "use only the first N images in name order (0: all)")->capture_default_str();
  cmd->add_option("--device", job->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd->callback([job] {
    // One process's work: under a launcher rank 0 does it.
    if (!cluster::is_root()) return;
    image::run_stats_job(*job);
    fmt::print("wrote {}\n", job->out.string());
  });
}

void add_probe(CLI::App& images) {
  auto job = std::make_shared<image::ProbeJob>();
  auto k = std::make_shared<int64_t>(-1);
  auto* cmd = images.add_subcommand(
      "probe", "Top-1 class and whitened activation similarity of start/generated image pairs");
  cmd->add_option("--classifier", job->classifier, "torchvision ConvNeXt state dict (.pth or .safetensors)")
      ->required();
  cmd->add_option("--classifier-config", job->classifier_config,
                  "the classifier's input pipeline (JSON: resize, crop, channels, mean, std); default: ImageNet's");
  cmd->add_option("--stats", job->stats, "stats file of this classifier (from `hdiff images stats`)")->required();
  cmd->add_option("--start", job->start, "folder of start images")->required();
  cmd->add_option("--generated", job->generated,
                  "folder of generated images: k<k>/ subfolders (k0, k50, ...) or one set with --k")
      ->required();
  cmd->add_option("--out", job->out, "folder to write pairs.csv and summary.csv into")->required();
  cmd->add_option("--k", *k, "the k of a --generated folder without k<k> subfolders");
  cmd->add_option("--num-steps", job->num_steps, "number of respaced steps K, for the k_over_K column");
  cmd->add_option("--batch", job->batch_size, "images per classifier call")->capture_default_str();
  cmd->add_option("--device", job->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd->callback([job, k, cmd] {
    // The classifier is cheap beside the diffusion model: under a launcher rank 0 probes alone.
    if (!cluster::is_root()) return;
    if (cmd->count("--k")) {
      if (*k < 0) fail("--k must not be negative, got {}", *k);
      job->k = *k;
    }
    const auto table = image::run_probe_job(*job);
    fmt::print("probed {} image pairs at {} values of k; wrote {}/pairs.csv and summary.csv\n",
               table.images.size(), table.ks.size(), job->out.string());
  });
}

void add_experiment(CLI::App& images) {
  auto config = std::make_shared<std::filesystem::path>();
  auto preset = std::make_shared<std::string>();
  auto models = std::make_shared<std::filesystem::path>();
  auto out = std::make_shared<std::filesystem::path>();
  auto device = std::make_shared<std::string>();
  auto* cmd = images.add_subcommand(
      "experiment",
      "The whole image experiment: forward-backward at every k, classifier statistics, probe, figures, the\n"
      "class-change probability, distances split by class kept/changed, the spatial susceptibility of patch\n"
      "changes and a picture grid of trajectories (resumable: rerun to continue; docs/images.md).\n"
      "--preset fashion-mnist runs the models shipped in models/fashion-mnist on Fashion-MNIST test images\n"
      "(about 4 minutes on 2 CPU cores).");
  auto* config_option = cmd->add_option("--config", *config, "experiment file (TOML; see docs/images.md)");
  auto* preset_option =
      cmd->add_option("--preset", *preset, "run a named experiment instead (--list-presets, --print-preset NAME)")
          ->excludes(config_option);
  cmd->add_option("--models", *models,
                  "the models folder of a preset (default: $HDIFF_MODELS_DIR, else the source tree's models/)");
  cmd->add_flag_callback("--list-presets", [] {
    if (cluster::is_root()) fmt::print("{}", image::image_preset_list());
    std::exit(0);
  }, "print the presets, one a line, and exit");
  cmd->add_option_function<std::string>("--print-preset", [models](const std::string& name) {
    const auto text = image::image_preset_text(name, image::models_folder(*models), false);
    if (cluster::is_root()) fmt::print("{}", text);
    std::exit(0);
  }, "print the experiment file of preset NAME (a valid --config file; --models sets its paths) and exit");
  cmd->add_option("--out", *out, "output folder (created; an earlier run of the same config is continued)")
      ->required();
  cmd->add_option("--device", *device, "overrides the config's device: auto, cpu, cuda or cuda:N");
  cmd->callback([config, preset, models, out, device, config_option, preset_option] {
    if (!config_option->count() && !preset_option->count()) fail("give --config FILE or --preset NAME (--list-presets)");
    bool finished;
    if (preset_option->count()) {
      const auto text = image::image_preset_text(*preset, image::models_folder(*models), true);
      finished = image::run_image_experiment_text(text, "preset " + *preset, std::filesystem::current_path(), *out,
                                                  *device);
    } else {
      finished = image::run_image_experiment(*config, *out, *device);
    }
    if (!finished) {
      std::fflush(stdout);
      std::exit(130);  // Ctrl-C: finished images are kept, as `hdiff images forward-backward` does
    }
  });
}

}  // namespace

void add_images_probe_commands(CLI::App& images) {
  add_stats(images);
  add_probe(images);
  add_experiment(images);
}

}  // namespace hdiff::cli
