// `hdiff images train-classifier` and `hdiff images train-diffusion`: a small
// greyscale ConvNeXt and a small greyscale ADM U-Net trained on Fashion-MNIST
// (issue 30), written where the probe, forward-backward and the image
// experiment read them.

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/option_checks.h"
#include "common/error.h"
#include "image/training/classifier_trainer.h"
#include "image/training/diffusion_trainer.h"

namespace hdiff::cli {
namespace {

std::vector<double> parse_channel_mult(const std::string& text) {
  std::vector<double> levels;
  size_t begin = 0;
  while (begin <= text.size()) {
    const size_t end = std::min(text.find(',', begin), text.size());
    const std::string item = text.substr(begin, end - begin);
    int value = 0;
    const auto [rest, error] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || error != std::errc() || rest != item.data() + item.size())
      fail("--channel-mult takes whole numbers separated by commas, such as 1,2,2; got '{}'", text);
    levels.push_back(value);
    begin = end + 1;
  }
  return levels;
}

void add_train_diffusion(CLI::App& images) {
  auto job = std::make_shared<image::DiffusionTrainJob>();
  auto* cmd = images.add_subcommand(
      "train-diffusion",
      "Train a small greyscale ADM U-Net (guided-diffusion's network) on Fashion-MNIST's training split by DDPM\n"
      "eps-prediction (28x28, pixels in [-1, 1]). Writes, together at the end, OUT/diffusion.safetensors (the EMA\n"
      "weights), OUT/diffusion.json (the guided-diffusion flags: give it to `hdiff images forward-backward\n"
      "--model-config`) and OUT/training.json (the run and the exact command that retrains it). Give --steps, or\n"
      "--minutes to stop when the time is spent (the learning rate is constant after the warm-up, so the weights\n"
      "are those of --steps N for the N steps reached). OUT/checkpoint.safetensors (weights, EMA, Adam state) is\n"
      "written every --checkpoint-every steps, at --stop-at and on Ctrl-C; --resume continues it to the same\n"
      "weights. The same options and --threads give the same bytes.");
  cmd->add_option("--out", job->out, "output folder")->required();
  cmd->add_option("--data", job->data, "folder of the Fashion-MNIST IDX files")->capture_default_str();
  cmd->add_option("--steps", job->steps, "optimiser steps (0: until --minutes are spent)")->capture_default_str();
  cmd->add_option("--minutes", job->minutes, "training-time budget of this run (0: none); ends after a whole step")
      ->capture_default_str();
  cmd->add_option("--batch", job->batch, "images per step")->capture_default_str();
  cmd->add_option("--seed", job->seed, "seed of the initial weights, the batches, the steps t and the noises")
      ->capture_default_str();
  cmd->add_option("--threads", job->threads, "LibTorch threads (0: its default); part of what fixes the bytes")
      ->capture_default_str();
  cmd->add_option("--learning-rate", job->learning_rate, "Adam's rate after the linear warm-up")->capture_default_str();
  cmd->add_option("--warmup-steps", job->warmup_steps, "steps of the linear warm-up of the rate")->capture_default_str();
  cmd->add_option("--ema-rate", job->ema_rate, "decay of the EMA weights that are written (min(rate, (1+s)/(10+s)))")
      ->capture_default_str();
  cmd->add_option("--grad-clip", job->grad_clip, "largest gradient norm (0: no clipping)")->capture_default_str();
  cmd->add_option("--num-channels", job->num_channels, "channels of the first level (a multiple of 32)")
      ->capture_default_str();
  // A string, as guided-diffusion's flag: its levels may repeat ("1,2,2"), which list options refuse.
  auto channel_mult = std::make_shared<std::string>("1,2,2");
  cmd->add_option("--channel-mult", *channel_mult, "channel multiplier per level, e.g. 1,2,2; 1 to 3 levels (28, 14, 7)")
      ->capture_default_str();
  cmd->add_option("--num-res-blocks", job->num_res_blocks, "residual blocks per level")->capture_default_str();
  cmd->add_option("--attention-resolutions", job->attention_resolutions,
                  "feature-map sides with self-attention (28, 14 or 7); the middle block always has it")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--num-head-channels", job->num_head_channels, "channels per attention head")->capture_default_str();
  cmd->add_option("--schedule", job->noise_schedule, "noise schedule: linear or cosine")->capture_default_str();
  cmd->add_option("--diffusion-steps", job->diffusion_steps, "diffusion steps T")->capture_default_str();
  cmd->add_option("--respacing", job->timestep_respacing,
                  "timestep_respacing written into diffusion.json for sampling (forward-backward --steps overrides it)")
      ->capture_default_str();
  cmd->add_option("--train-limit", job->train_limit, "train on the first N training images (0: all)")
      ->capture_default_str();
  cmd->add_option("--checkpoint-every", job->checkpoint_every, "steps between checkpoints")->capture_default_str();
  cmd->add_option("--stop-at", job->stop_at, "stop after this step as Ctrl-C does (0: never); --resume continues")
      ->capture_default_str();
  cmd->add_flag("--resume", job->resume, "continue from OUT/checkpoint.safetensors");
  add_force_flag(*cmd, job->force);
  cmd->callback([job, channel_mult] {
    job->channel_mult = parse_channel_mult(*channel_mult);
    const auto r = image::run_train_diffusion(*job);
    if (r.interrupted) {
      fmt::print(stderr, "hdiff: interrupted at step {}; the checkpoint is kept in {}; rerun with --resume\n", r.step,
                 job->out.string());
      std::fflush(stdout);
      std::exit(130);
    }
    fmt::print("trained {} steps ({} parameters) in {:.1f} s; final loss {:.4f}; wrote {}\n", r.step - r.first_step,
               r.parameters, r.train_seconds, r.last_loss, job->out.string());
  });
}

}  // namespace

void add_images_train_commands(CLI::App& images) {
  add_train_diffusion(images);
  auto job = std::make_shared<image::ClassifierTrainJob>();
  auto* cmd = images.add_subcommand(
      "train-classifier",
      "Train a small greyscale ConvNeXt (the probe's blocks) on Fashion-MNIST's training split.\n"
      "Writes OUT/classifier.safetensors, OUT/classifier.json (its input pipeline: give it as --classifier-config)\n"
      "and OUT/accuracy.json (accuracy on the 10 000 test images). OUT/checkpoint.safetensors is written every\n"
      "--checkpoint-every steps and on Ctrl-C; --resume continues it to the same weights. The same options and\n"
      "--threads give the same bytes.");
  cmd->add_option("--out", job->out, "output folder")->required();
  cmd->add_option("--data", job->data, "folder of the Fashion-MNIST IDX files")->capture_default_str();
  auto* steps = cmd->add_option("--steps", job->steps, "optimiser steps");
  cmd->add_option("--epochs", job->epochs, "passes over the training images (when --steps is not given)")
      ->capture_default_str()
      ->excludes(steps);
  cmd->add_option("--batch", job->batch, "images per step")->capture_default_str();
  cmd->add_option("--seed", job->seed, "seed of the initial weights and of the batches")->capture_default_str();
  cmd->add_option("--threads", job->threads, "LibTorch threads (0: its default); part of what fixes the bytes")
      ->capture_default_str();
  cmd->add_option("--learning-rate", job->learning_rate, "AdamW's peak rate (warm-up, then cosine decay)")
      ->capture_default_str();
  cmd->add_option("--weight-decay", job->weight_decay, "AdamW's weight decay (weights of dimension >= 2)")
      ->capture_default_str();
  // Sequences, not sets: a stage may repeat another's width or depth (2,2,2).
  allow_repeated_items(cmd->add_option("--widths", job->widths, "channels of each stage"))
      ->delimiter(',')
      ->capture_default_str();
  allow_repeated_items(cmd->add_option("--depths", job->depths, "blocks of each stage"))
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--patch", job->patch, "side of the stem's patches (torchvision's ConvNeXt: 4)")
      ->capture_default_str();
  cmd->add_option("--train-limit", job->train_limit, "train on the first N training images (0: all)")
      ->capture_default_str();
  cmd->add_option("--test-limit", job->test_limit, "measure on the first N test images (0: all)")
      ->capture_default_str();
  cmd->add_option("--checkpoint-every", job->checkpoint_every, "steps between checkpoints")->capture_default_str();
  cmd->add_option("--stop-at", job->stop_at, "stop after this step as Ctrl-C does (0: never); --resume continues")
      ->capture_default_str();
  cmd->add_flag("--resume", job->resume, "continue from OUT/checkpoint.safetensors");
  add_force_flag(*cmd, job->force);
  cmd->callback([job] {
    const auto r = image::run_train_classifier(*job);
    if (r.interrupted) {
      fmt::print(stderr, "hdiff: interrupted at step {} of {}; the checkpoint is kept in {}; rerun with --resume\n",
                 r.step, r.steps, job->out.string());
      std::fflush(stdout);
      std::exit(130);
    }
    fmt::print("trained {} steps ({} parameters) in {:.1f} s; test accuracy {:.4f} on {} images; wrote {}\n",
               r.step - r.first_step, r.parameters, r.train_seconds, r.test_accuracy, r.test_images,
               job->out.string());
  });
}

}  // namespace hdiff::cli
