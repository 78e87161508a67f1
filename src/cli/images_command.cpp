// `hdiff images forward-backward` and `hdiff images bench`: the ADM diffusion
// model's forward–backward experiment on images (SPEC §6) and its timing.

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "common/error.h"
#include "image/diffusion/forward_backward_job.h"

namespace hdiff::cli {
namespace {

std::vector<int> parse_ks(const std::string& text) {
  std::vector<int> ks;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    try {
      size_t used = 0;
      ks.push_back(std::stoi(part, &used));
      if (used != part.size()) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      fail("--t '{}' must be a comma-separated list of step numbers such as 50,100,150", text);
    }
  }
  return ks;
}

void add_forward_backward(CLI::App& images) {
  auto job = std::make_shared<image::ForwardBackwardJob>();
  auto ks = std::make_shared<std::string>();
  auto* cmd = images.add_subcommand(
      "forward-backward",
      "Noise images to respaced step k with an ADM diffusion model and denoise them back.\n"
      "--input DIR writes OUT/start/NAME.png and OUT/k<k>/NAME.png (a rerun skips existing PNGs);\n"
      "--input-tensor writes OUT/sample.npy (or sample_k<k>.npy for several k).");
  cmd->add_option("--checkpoint", job->checkpoint, "ADM state dict (.pt as saved by torch.save, or .safetensors)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--model-config", job->model_config, "JSON of guided-diffusion creation flags")
      ->check(CLI::ExistingFile);
  cmd->add_option("--preset", job->preset, "model flags by name: adm-256-uncond or adm-256-cond");
  cmd->add_option("--steps", job->steps, "respaced number of steps K (default: the config's respacing)");
  cmd->add_option("--t", *ks, "respaced step(s) k to reverse at, 0..K (K: from pure noise), e.g. 100,125")
      ->required();
  cmd->add_option("--input", job->input_dir, "folder of JPEG/PNG images, flat or one subfolder per class");
  cmd->add_option("--input-tensor", job->input_tensor, "x0 from a tensor file: F.pt:key (N x C x H x W in [-1, 1]; C: the model's in_channels, 3 or 1)");
  cmd->add_option("--noise-tensor", job->noise_tensor,
                  "noises from a tensor file: F.pt:key (M x N x C x H x W; [0] noises x0, [j] is reverse step j)");
  cmd->add_option("--labels-tensor", job->labels_tensor, "class labels F.pt:key (N) for class-conditional models");
  cmd->add_option("--out", job->out, "output folder")->required();
  cmd->add_option("--batch", job->batch, "images per network call")->capture_default_str();
  cmd->add_option("--device", job->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--precision", job->precision, "auto (fp16 on CUDA if the model uses it), fp32 or fp16")
      ->capture_default_str();
  cmd->add_option("--seed", job->seed, "seed of the noises (ignored with --noise-tensor)")->capture_default_str();
  cmd->add_flag("--ddim", job->ddim, "DDIM reverse steps instead of ancestral sampling");
  cmd->add_option("--eta", job->eta, "DDIM eta (0: deterministic)")->capture_default_str();
  cmd->callback([job, ks] {
    job->ks = parse_ks(*ks);
    const auto summary = image::run_forward_backward_job(*job);
    if (summary.interrupted) {
      fmt::print(stderr, "hdiff: interrupted: {} finished outputs are kept in {}; rerun to continue\n",
                 summary.written, job->out.string());
      std::fflush(stdout);
      std::exit(130);
    }
    fmt::print("wrote {} outputs to {} ({} existed already) in {:.1f} s\n", summary.written, job->out.string(),
               summary.skipped, summary.seconds);
  });
}

void add_bench(CLI::App& images) {
  auto job = std::make_shared<image::BenchJob>();
  auto* cmd = images.add_subcommand("bench", "Time reverse diffusion steps of an ADM U-Net with random weights");
  cmd->add_option("--preset", job->preset, "model flags by name")->capture_default_str();
  cmd->add_option("--model-config", job->model_config, "JSON of guided-diffusion flags (instead of --preset)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--batch", job->batch, "images per network call")->capture_default_str();
  cmd->add_option("--calls", job->calls, "timed reverse steps (after one warm-up step)")->capture_default_str();
  cmd->add_option("--device", job->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--precision", job->precision, "auto, fp32 or fp16")->capture_default_str();
  cmd->add_option("--threads", job->threads, "CPU threads (0: LibTorch's default)")->capture_default_str();
  cmd->callback([job] {
    const auto r = image::run_bench(*job);
    fmt::print("device {} {} batch {}: {:.3g} s per step ({} parameters); {:.3g} images/s for 250 steps\n", r.device,
               r.fp16 ? "fp16" : "fp32", job->batch, r.seconds_per_step, r.parameters, r.images_per_second_250);
  });
}

}  // namespace

void add_images_command(CLI::App& app) {
  auto* images = app.add_subcommand("images", "Image diffusion: ADM forward-backward and the classifier probe");
  images->require_subcommand(1);
  add_forward_backward(*images);
  add_bench(*images);
  add_images_probe_commands(*images);
  add_images_data_commands(*images);
  add_images_train_commands(*images);
  add_images_quality_commands(*images);
}

}  // namespace hdiff::cli
