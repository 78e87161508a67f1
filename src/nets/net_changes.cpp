// `hdiff net changes`: loads a text model and runs text/text_changes.h on it.

#include "nets/net_changes.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <chrono>

#include "common/error.h"
#include "common/output.h"
#include "common/progress.h"
#include "common/version.h"
#include "image/checkpoint/checkpoint.h"
#include "nets/net_checkpoint.h"
#include "nets/net_config.h"
#include "nets/net_denoiser.h"
#include "text/text_changes_report.h"

namespace hdiff::nets {
namespace {

// `count` sequences spread evenly over the validation sequences.
std::vector<uint32_t> spread(const std::vector<uint32_t>& sequences, int64_t d, int64_t count) {
  const auto total = static_cast<int64_t>(sequences.size()) / d;
  count = std::min(count, total);
  std::vector<uint32_t> out;
  for (int64_t k = 0; k < count; ++k) {
    const int64_t n = k * total / count;
    out.insert(out.end(), sequences.begin() + n * d, sequences.begin() + (n + 1) * d);
  }
  return out;
}

}  // namespace

NetChangesOutcome run_net_changes(const NetChangesJob& job) {
  const auto start = std::chrono::steady_clock::now();
  text::validate(job.changes);
  if (job.sequences < 1 || job.sequences > 1000000) fail("--sequences {} must lie in [1, 10^6]", job.sequences);
  const std::filesystem::path model_file = job.model / "model.safetensors";
  if (!std::filesystem::is_regular_file(model_file))
    fail("{} holds no model.safetensors; give --model the --out folder of a finished `hdiff net train` run",
         job.model.string());
  const auto metadata = ckpt::read_safetensors_metadata(model_file);
  const auto config_text = metadata.find("config");
  if (config_text == metadata.end())
    fail("{}: not a model of hdiff net train (its metadata has no config)", model_file.string());
  const NetConfig config = parse_net_config(config_text->second, model_file.string() + " (its config)");
  if (!is_text(config))
    fail("{}: a model of RHM strings; `hdiff net changes` measures text models (data.source = \"kjv\"); for RHM "
         "models see comparison.csv of hdiff net train", model_file.string());
  OutputDir out(job.out, job.force ? Existing::replace : Existing::refuse, "hdiff net changes");

  const text::TextCorpus corpus = load_text_corpus(config);
  const int64_t d = token_length(config);
  const int v = token_vocabulary(config);
  const std::vector<uint32_t> clean = spread(corpus.validation, d, job.sequences);
  const int64_t sequences = static_cast<int64_t>(clean.size()) / d;

  torch::set_num_threads(1);  // byte-identical tables whatever the machine
  torch::manual_seed(0);
  const std::shared_ptr<TokenNetwork> net = make_network(config);
  load_checkpoint(model_file, config, *net, nullptr);
  const TokenDenoiser denoiser = network_denoiser(net, Channel::mask, v, 64);

  ProgressBar bar(sequences * job.changes.trajectories * static_cast<int64_t>(job.changes.noise.size()),
                  "hdiff net changes");
  int64_t reported = 0;
  const text::TextChangesResult result = text::text_changes(denoiser, v, d, clean, job.changes, [&](int64_t done) {
    bar.advance(done - reported);
    reported = done;
  });
  bar.finish();

  const std::string unit = config.text_tokens == "words" ? "word" : "character";
  out.write("changes.csv", text::changes_csv(result.rows, sequences, job.changes.trajectories, job.changes.window));
  out.write("correlations.csv", text::correlations_csv(result.rows));
  out.write("samples.txt", text::sample_grid(corpus.tokenizer, clean, d, result, job.changes.noise, job.shown));
  text::write_changes_figures(result.rows, unit, out);
  NetChangesOutcome outcome;
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::json record;
  record["command"] = "hdiff net changes";
  record["hdiff_version"] = version();
  record["git_commit"] = git_commit();
  record["model"] = job.model.string();
  record["model_step"] = metadata.count("step") ? metadata.at("step") : "";
  record["sequences"] = sequences;
  record["trajectories"] = job.changes.trajectories;
  record["noise"] = job.changes.noise;
  record["window"] = job.changes.window;
  record["max_distance"] = job.changes.max_distance;
  record["seed"] = job.changes.seed;
  record["threads"] = 1;
  record["wall_seconds"] = outcome.seconds;
  out.write("run.json", record.dump(2) + "\n");
  out.commit();

  outcome.summary = fmt::format("t       changed   chi (window R={})       correlation length ({}s)\n",
                                job.changes.window, unit);
  for (const auto& r : result.rows) {
    const auto& w = r.changes.susceptibility_window;
    outcome.summary += fmt::format("{:<7.3g} {:<9.4f} {:<22} {}\n", r.noise, r.changes.changed_fraction,
                                   w ? fmt::format("{:.4f} ± {:.4f}", w->mean, w->standard_error) : "-",
                                   r.correlation_length ? fmt::format("{:.2f}", *r.correlation_length) : "-");
  }
  return outcome;
}

}  // namespace hdiff::nets
