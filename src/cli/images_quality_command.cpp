// `hdiff images sample-quality`: samples from pure noise, their class histogram
// and their Fréchet distance to the test images in a classifier's feature space.

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>

#include "cli/commands.h"
#include "cluster/cluster.h"
#include "image/quality/sample_quality.h"

namespace hdiff::cli {

void add_images_quality_commands(CLI::App& images) {
  auto job = std::make_shared<image::SampleQualityJob>();
  auto* cmd = images.add_subcommand(
      "sample-quality",
      "Draw samples from pure noise with a diffusion model, classify them, and measure the Frechet distance\n"
      "to Fashion-MNIST's test images in the classifier's pooled features. Writes OUT/samples/, samples_grid.png,\n"
      "class_histogram.csv and sample_quality.json (frechet_distance, the test-set floor, the class spread);\n"
      "docs/images.md, \"Sample quality\".");
  cmd->add_option("--checkpoint", job->checkpoint, "ADM state dict (.safetensors or .pt)");
  cmd->add_option("--model-config", job->model_config, "its guided-diffusion flags (JSON)");
  cmd->add_option("--samples-from", job->samples_from,
                  "measure the images of this folder instead of drawing samples (no diffusion model needed)");
  cmd->add_option("--classifier", job->classifier, "ConvNeXt state dict (e.g. models/fashion-mnist/classifier/"
                                                   "classifier.safetensors)")
      ->required();
  cmd->add_option("--classifier-config", job->classifier_config, "its input pipeline (JSON, e.g. classifier.json)");
  cmd->add_option("--data", job->data, "folder of Fashion-MNIST's IDX files (the test split is read)")
      ->capture_default_str();
  cmd->add_option("--out", job->out, "output folder")->required();
  cmd->add_option("--samples", job->samples, "samples to draw")->capture_default_str();
  cmd->add_option("--steps", job->steps, "respaced reverse steps K")->capture_default_str();
  cmd->add_flag("--ddim", job->ddim, "DDIM reverse steps instead of ancestral sampling");
  cmd->add_option("--eta", job->eta, "DDIM eta (0: deterministic)")->capture_default_str();
  cmd->add_option("--batch", job->batch, "images per network call")->capture_default_str();
  cmd->add_option("--seed", job->seed, "seed of the noises (sample i's noise is keyed by (seed, i))")
      ->capture_default_str();
  cmd->add_option("--device", job->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  add_force_flag(*cmd, job->force);
  cmd->callback([job] {
    if (!cluster::is_root()) return;  // one process's work
    const auto report = image::run_sample_quality(*job);
    fmt::print("{}", report);
  });
}

}  // namespace hdiff::cli
