// The training loop of `hdiff net train`, its checkpoints and the measurements
// of every checkpoint against exact BP.

#include "nets/trainer.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>

#include "common/error.h"
#include "common/output.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "common/version.h"
#include "denoiser/measure.h"
#include "grammar/sampling.h"
#include "nets/losses.h"
#include "nets/net_checkpoint.h"
#include "nets/net_denoiser.h"
#include "nets/net_report.h"
#include "nets/text_report.h"
#include "nets/training_batch.h"
#include "text/text_measures.h"

namespace hdiff::nets {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The tokens of strings first .. first + count − 1 (sample_tree under `seed`), count × d.
std::vector<uint32_t> draw_strings(const Grammar& grammar, uint64_t seed, int64_t first, int64_t count) {
  const SampleBatch batch = sample_batch(grammar, seed, first, count);
  const int64_t d = sequence_length(grammar.params);
  const int64_t offset = level_offset(grammar.params, grammar.params.L);
  std::vector<uint32_t> tokens(static_cast<size_t>(count * d));
  for (int64_t n = 0; n < count; ++n) {
    const auto tree = batch.tree(n);
    std::copy(tree.begin() + offset, tree.begin() + offset + d, tokens.begin() + n * d);
  }
  return tokens;
}

bool all_finite(TokenNetwork& net) {
  torch::NoGradGuard no_grad;
  for (const auto& p : net.parameters())
    if (!torch::isfinite(p).all().item<bool>()) return false;
  return true;
}

[[noreturn]] void fail_not_finite(const char* what, int64_t step, const std::string& last_good) {
  fail("the {} became NaN at step {}; the last good checkpoint is {}; lower train.learning_rate", what, step,
       last_good.empty() ? std::string("none (none was written yet)") : last_good);
}

// No status line before this many seconds of training.
constexpr double kQuietSeconds = 2.0;

// A line beside the progress bar: on a terminal it first clears the bar's line.
void print_status(const std::string& line) {
  static const bool terminal = isatty(fileno(stderr)) != 0;
  fmt::print(stderr, "{}{}\n", terminal ? "\r\033[K" : "", line);
}

nlohmann::json run_record(const TrainJob& job, const TrainOutcome& outcome) {
  const NetConfig& c = job.config;
  nlohmann::json j;
  j["command"] = "hdiff net train";
  j["hdiff_version"] = version();
  j["git_commit"] = git_commit();
  j["grammar"] = grammar_identity(c);
  j["architecture"] = architecture_identity(c);
  j["process"] = process_identity(c);
  j["parameters"] = outcome.parameters;
  j["first_step"] = outcome.first_step;
  j["step_reached"] = outcome.step;
  j["steps_asked"] = c.steps;
  j["time_budget_seconds"] = c.time_budget_seconds;
  j["time_budget_hit"] = outcome.time_budget_hit;
  j["threads"] = outcome.threads;
  j["train_seconds"] = outcome.train_seconds;
  j["measure_seconds"] = outcome.measure_seconds;
  j["steps_per_second"] = outcome.train_seconds > 0
                              ? static_cast<double>(outcome.step - outcome.first_step) / outcome.train_seconds
                              : 0.0;
  j["config"] = job.config_text;
  return j;
}

// Measures every checkpoint up to `last_step`, then the final model. Returns
// false when Ctrl-C stopped it.
bool measure(const NetConfig& c, const Grammar& grammar, TokenNetwork& net, const std::shared_ptr<TokenNetwork>& shared,
             const fs::path& folder, int64_t last_step, std::span<const uint32_t> training,
             std::span<const uint32_t> test, std::vector<CheckpointMeasures>& measures, FinalMeasures& final_measures) {
  std::vector<CheckpointFile> files;
  for (const auto& file : list_checkpoints(folder))
    if (file.step <= last_step) files.push_back(file);
  const int64_t d = sequence_length(c.grammar);
  const auto loss_train = training.subspan(0, static_cast<size_t>(std::min(c.loss_samples, c.samples) * d));
  const auto loss_test = test.subspan(0, static_cast<size_t>(c.loss_samples * d));
  const TokenDenoiser denoiser = network_denoiser(shared, c.process, c.grammar.v);
  {
    ProgressBar bar(static_cast<int64_t>(files.size()), "hdiff net train: measuring checkpoints");
    for (const auto& file : files) {
      CheckpointMeasures m;
      m.step = load_checkpoint(file.path, c, net, nullptr);
      const auto generated = generate(c.grammar, denoiser, c.process, c.generated, c.uniform_steps, c.measure_seed);
      m.samples = sample_quality(grammar, generated, training);
      m.train = compare_losses(grammar, denoiser, c.process, c.noise, loss_train, c.measure_seed);
      m.test = compare_losses(grammar, denoiser, c.process, c.noise, loss_test, c.measure_seed);
      measures.push_back(std::move(m));
      bar.advance();
      if (interrupted()) return false;
    }
  }
  // The last checkpoint is the final model (every run ends with one).
  final_measures.loss = measures.empty() ? std::vector<LossRow>{} : measures.back().test;
  const DenoiserPhaseConfig phase = measure_config(c);
  ProgressBar bar(phase.samples * phase.trajectories * static_cast<int64_t>(phase.noise.size()),
                  "hdiff net train: forward-backward");
  int64_t reported = 0;
  final_measures.phase = denoiser_phase(grammar, denoiser, phase, [&](int64_t done) {
    bar.advance(done - reported);
    reported = done;
  });
  bar.finish();
  return !interrupted();
}

// `count` sequences of d tokens spread evenly over `sequences` (all when fewer):
// a validation sample from every validation book, not the first book only.
std::vector<uint32_t> spread_sequences(std::span<const uint32_t> sequences, int64_t d, int64_t count) {
  const auto total = static_cast<int64_t>(sequences.size()) / d;
  count = std::min(count, total);
  std::vector<uint32_t> out;
  out.reserve(static_cast<size_t>(count * d));
  for (int64_t k = 0; k < count; ++k) {
    const int64_t n = k * total / count;
    out.insert(out.end(), sequences.begin() + n * d, sequences.begin() + (n + 1) * d);
  }
  return out;
}

// The text model's measures: the MDLM bound in bits per token of every
// checkpoint up to `last_step` on loss_samples training and validation
// sequences. Returns false when Ctrl-C stopped it.
bool measure_text(const NetConfig& c, TokenNetwork& net, const std::shared_ptr<TokenNetwork>& shared,
                  const fs::path& folder, int64_t last_step, std::span<const uint32_t> training,
                  std::span<const uint32_t> validation, std::vector<TextCheckpointMeasures>& measures) {
  const int64_t d = token_length(c);
  const int v = token_vocabulary(c);
  const std::vector<uint32_t> train_sample = spread_sequences(training, d, c.loss_samples);
  const std::vector<uint32_t> validation_sample = spread_sequences(validation, d, c.loss_samples);
  // Chunks of 64 sequences: large batches of attention spend more time in
  // allocating memory than in computing (measured: about 2x slower at 256).
  const TokenDenoiser denoiser = network_denoiser(shared, c.process, v, 64);
  std::vector<CheckpointFile> files;
  for (const auto& file : list_checkpoints(folder))
    if (file.step <= last_step) files.push_back(file);
  ProgressBar bar(static_cast<int64_t>(files.size()), "hdiff net train: bits per token of the checkpoints");
  for (const auto& file : files) {
    TextCheckpointMeasures m;
    m.step = load_checkpoint(file.path, c, net, nullptr);
    m.train_bits = text::masked_bits_per_token(denoiser, v, d, train_sample, c.measure_seed);
    m.validation_bits = text::masked_bits_per_token(denoiser, v, d, validation_sample, c.measure_seed);
    measures.push_back(m);
    bar.advance();
    if (interrupted()) return false;
  }
  bar.finish();
  return true;
}

}  // namespace

int training_threads(int requested) { return requested > 0 ? requested : at::get_num_threads(); }

TrainOutcome run_net_train(const TrainJob& job) {
  const NetConfig& c = job.config;
  TrainOutcome outcome;
  outcome.threads = training_threads(job.threads);
  torch::set_num_threads(outcome.threads);
  set_thread_count(outcome.threads);

  const fs::path folder = job.out / "checkpoints";
  const std::vector<CheckpointFile> earlier = list_checkpoints(folder);
  if (job.resume && earlier.empty())
    fail("nothing to resume in {}: it holds no checkpoints/step-*.safetensors; run without --resume",
         job.out.string());
  if (!job.resume && !earlier.empty() && !job.force)
    fail("{} holds the checkpoints of an earlier training run; add --resume to continue it, or --force to start "
         "again", job.out.string());
  OutputDir out(job.out, job.resume || job.force ? Existing::replace : Existing::refuse, "hdiff net train");

  // RHM: P strings of the grammar and held-out ones; text: the corpus's
  // training and validation sequences (docs/text.md), and no grammar.
  const bool text_model = is_text(c);
  std::optional<Grammar> grammar;
  std::vector<uint32_t> training, test;
  if (text_model) {
    text::TextCorpus corpus = load_text_corpus(c);
    training = std::move(corpus.training);
    test = std::move(corpus.validation);
  } else {
    grammar.emplace(make_random_grammar(c.grammar));
    training = draw_strings(*grammar, c.data_seed, 0, c.samples);
    test = draw_strings(*grammar, c.data_seed, c.samples, c.test_samples);
  }
  const UniformSchedule schedule = uniform_schedule(c.uniform_steps);

  torch::manual_seed(c.train_seed);
  const std::shared_ptr<TokenNetwork> net = make_network(c);
  outcome.parameters = parameter_count(*net);
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(c.learning_rate));
  std::string last_good;
  if (job.resume) {
    for (const auto& file : earlier) {  // every checkpoint is measured later: refuse a foreign one now
      TokenNetwork& target = *net;
      load_checkpoint(file.path, c, target, nullptr);
    }
    outcome.first_step = load_checkpoint(earlier.back().path, c, *net, &adam);
    if (outcome.first_step > c.steps)
      fail("{}: the last checkpoint is at step {}, beyond train.steps = {}; raise train.steps to continue",
           earlier.back().path.string(), outcome.first_step, c.steps);
    last_good = earlier.back().path.string();
  } else {
    for (const auto& file : earlier) fs::remove(file.path);  // --force: a new run's checkpoints only
  }
  fs::create_directories(folder);

  const std::vector<int64_t> planned = checkpoint_steps(c.steps, c.checkpoints);
  const std::set<int64_t> save_at(planned.begin(), planned.end());
  const auto save = [&](int64_t step) {
    if (!all_finite(*net)) fail_not_finite("weights", step, last_good);
    const fs::path path = folder / checkpoint_name(step);
    write_file_atomic(path, checkpoint_bytes(*net, &adam, checkpoint_metadata(c, step, job.config_text)));
    last_good = path.string();
  };

  install_interrupt_handler();
  outcome.step = outcome.first_step;
  const auto train_start = Clock::now();
  {
    ProgressBar bar(c.steps - outcome.first_step, "hdiff net train");
    double loss_sum = 0;
    int64_t loss_count = 0;
    net->train();
    for (int64_t step = outcome.first_step + 1; step <= c.steps; ++step) {
      const TrainingBatch batch = draw_training_batch(c, training, step, schedule.alpha_bars);
      const at::Tensor loss = batch_loss(*net, c, batch, schedule);
      const double value = loss.item<double>();
      if (!std::isfinite(value)) fail_not_finite("loss", step, last_good);
      adam.zero_grad();
      loss.backward();
      adam.step();
      outcome.step = step;
      loss_sum += value;
      ++loss_count;
      bar.advance();
      const bool stop = interrupted();
      outcome.time_budget_hit = c.time_budget_seconds > 0 && seconds_since(train_start) >= c.time_budget_seconds;
      if (save_at.count(step) || stop || outcome.time_budget_hit) {
        save(step);
        const double elapsed = seconds_since(train_start);
        // Quiet in the first seconds, as ProgressBar is: a short run prints nothing.
        if (elapsed >= kQuietSeconds)
          print_status(fmt::format("hdiff net train: step {}/{}, loss {:.4f} (mean of the last {} steps), {:.1f} "
                                 "steps/s",
                                 step, c.steps, loss_sum / static_cast<double>(loss_count), loss_count,
                                 static_cast<double>(step - outcome.first_step) / std::max(elapsed, 1e-9)));
        loss_sum = 0;
        loss_count = 0;
      }
      if (stop) {
        outcome.interrupted = true;
        break;
      }
      if (outcome.time_budget_hit) break;
    }
    bar.finish();
  }
  outcome.train_seconds = seconds_since(train_start);
  if (outcome.interrupted) return outcome;

  const auto measure_start = Clock::now();
  if (text_model) {
    std::vector<TextCheckpointMeasures> text_measures;
    if (!measure_text(c, *net, net, folder, outcome.step, training, test, text_measures)) {
      outcome.interrupted = true;
      return outcome;
    }
    outcome.measure_seconds = seconds_since(measure_start);
    load_checkpoint(folder / checkpoint_name(outcome.step), c, *net, nullptr);
    out.write("model.safetensors",
              checkpoint_bytes(*net, nullptr, checkpoint_metadata(c, outcome.step, job.config_text)));
    const std::string unit = c.text_tokens == "words" ? "word" : "character";
    write_text_report(text_measures, unit, out);
    outcome.summary = text_summary(text_measures, unit);
    out.write("run.json", run_record(job, outcome).dump(2) + "\n");
    out.commit();
    return outcome;
  }
  std::vector<CheckpointMeasures> measures;
  FinalMeasures final_measures;
  if (!measure(c, *grammar, *net, net, folder, outcome.step, training, test, measures, final_measures)) {
    outcome.interrupted = true;
    return outcome;
  }
  outcome.measure_seconds = seconds_since(measure_start);
  // The final weights: those of the last checkpoint, which measure() loaded last.
  load_checkpoint(folder / checkpoint_name(outcome.step), c, *net, nullptr);
  out.write("model.safetensors", checkpoint_bytes(*net, nullptr, checkpoint_metadata(c, outcome.step, job.config_text)));
  write_net_report(c, measures, final_measures, out);
  outcome.summary = net_summary(measures, final_measures);
  if (!measures.empty()) outcome.samples = measures.back().samples;
  outcome.loss = final_measures.loss;
  outcome.phase = final_measures.phase;
  out.write("run.json", run_record(job, outcome).dump(2) + "\n");
  out.commit();
  return outcome;
}

}  // namespace hdiff::nets
