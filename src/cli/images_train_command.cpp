// `hdiff images train-classifier`: a small greyscale ConvNeXt trained on
// Fashion-MNIST (issue 30), written where the probe and the image experiment
// read it (OUT/classifier.safetensors with OUT/classifier.json).

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "cli/commands.h"
#include "common/error.h"
#include "image/training/classifier_trainer.h"

namespace hdiff::cli {

void add_images_train_commands(CLI::App& images) {
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
  cmd->add_option("--widths", job->widths, "channels of each stage")->delimiter(',')->capture_default_str();
  cmd->add_option("--depths", job->depths, "blocks of each stage")->delimiter(',')->capture_default_str();
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
