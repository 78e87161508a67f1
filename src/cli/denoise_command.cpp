// `hdiff denoise`: exact BP on noisy observations of a grammar's strings.

#include <fmt/format.h>

#include <cmath>

#include "bp/denoise.h"
#include "cli/commands.h"
#include "common/error.h"
#include "common/npy.h"
#include "common/output.h"
#include "common/parallel.h"
#include "grammar/grammar_io.h"

namespace hdiff::cli {
namespace {

struct DenoiseOptions {
  std::string grammar;
  std::string tokens;
  std::string channel = "uniform";
  double noise = std::nan("");
  int posterior_samples = 0;
  bool map = false;
  std::string precision = "float";
  uint64_t seed = 0;
  int threads = 0;
  std::string out;
  bool force = false;
};

void run_denoise(const DenoiseOptions& options) {
  set_thread_count(options.threads);
  DenoiseRequest request;
  request.noise = {parse_channel(options.channel), options.noise};
  request.posterior_samples = options.posterior_samples;
  request.map = options.map;
  request.seed = options.seed;
  request.precision = parse_precision(options.precision);
  validate(request);

  const Grammar grammar = load_grammar(options.grammar);
  const auto& p = grammar.params;
  const int64_t d = sequence_length(p);
  OutputDir out(options.out, existing_policy(options.force), "hdiff denoise");

  const NpyArray array = read_npy(options.tokens);
  check_observation_shape(p, request.noise.channel, array.shape, options.tokens);
  Observations observations;
  std::vector<uint32_t> tokens;
  std::vector<double> values;
  if (request.noise.channel == Channel::gaussian) {
    values = npy_to_f64(array, options.tokens);
    observations.values = values;
  } else {
    tokens = npy_to_u32(array, options.tokens, max_observed_token(p, request.noise.channel));
    observations.tokens = tokens;
  }
  observations.count = array.shape[0];

  const DenoiseResult result = denoise(grammar, observations, request);
  const int64_t N = result.count;
  for (int level = 0; level <= p.L; ++level)
    write_npy(out.staged(fmt::format("marginals_{}.npy", level)), DType::f64,
              {N, nodes_at_level(p, level), symbols_at_level(p, level)}, result.marginals[static_cast<size_t>(level)].data());
  write_npy(out.staged("log_evidence.npy"), DType::f64, {N}, result.log_evidence.data());
  if (request.posterior_samples > 0)
    write_npy_unsigned(out.staged("posterior_tokens.npy"), {N, request.posterior_samples, d}, result.posterior_tokens,
                       static_cast<uint64_t>(p.v - 1));
  if (request.map) write_npy_unsigned(out.staged("map_tokens.npy"), {N, d}, result.map_tokens, static_cast<uint64_t>(p.v - 1));
  out.commit();

  double mean_log_evidence = 0;
  for (double value : result.log_evidence) mean_log_evidence += value / static_cast<double>(N);
  fmt::print("denoised {} observations ({} channel, noise {}): mean log p(obs) = {:.6f}; wrote {}\n", N,
             channel_name(request.noise.channel), request.noise.level, mean_log_evidence, out.dir().string());
}

}  // namespace

void add_denoise_command(CLI::App& app) {
  auto options = std::make_shared<DenoiseOptions>();
  auto* command = app.add_subcommand(
      "denoise",
      "Exact BP: DIR/marginals_<l>.npy (N×s^l×n_l), DIR/log_evidence.npy (N), and with K: DIR/posterior_tokens.npy (N×K×d)");
  command->add_option("--grammar", options->grammar, "grammar JSON file")->required();
  command->add_option("--tokens", options->tokens,
                      "observations .npy: tokens N×d (mask: v means MASK), or for gaussian floats N×d×v")
      ->required();
  command->add_option("--channel", options->channel,
                      "noise channel: uniform, mask, gaussian or soft (soft: --tokens is the clean string)")
      ->capture_default_str();
  command->add_option("--noise", options->noise, "noise level: epsilon in [0,1] (alpha-bar in [0,1) for gaussian)")
      ->required();
  command->add_option("--posterior-samples", options->posterior_samples, "K exact posterior samples per observation")
      ->capture_default_str();
  command->add_flag("--map", options->map, "also write DIR/map_tokens.npy, the most probable string");
  command
      ->add_option("--precision", options->precision,
                   "float: the fast float32 batch path (marginals to about 1e-5 relative); double: the exact "
                   "double reference path (several times slower)")
      ->capture_default_str();
  command->add_option("--seed", options->seed, "seed of the posterior samples")->capture_default_str();
  command->add_option("--threads", options->threads, "threads (0 = all cores)")->capture_default_str();
  command->add_option("--out", options->out, "output folder")->required();
  add_force_flag(*command, options->force);
  command->callback([options] { run_denoise(*options); });
}

}  // namespace hdiff::cli
