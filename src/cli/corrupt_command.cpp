// `hdiff corrupt`: the forward noise of a channel applied to clean strings, so
// that sample → corrupt → denoise runs from the command line alone.

#include <fmt/format.h>

#include <cmath>

#include "bp/denoise.h"
#include "cli/commands.h"
#include "common/error.h"
#include "common/npy.h"
#include "common/output.h"
#include "grammar/grammar_io.h"
#include "noise/channel.h"

namespace hdiff::cli {
namespace {

struct CorruptOptions {
  std::string grammar;
  std::string tokens;
  std::string channel;
  double noise = std::nan("");
  uint64_t seed = 0;
  std::string out;
  bool force = false;
};

void run_corrupt(const CorruptOptions& options) {
  // The checks of `hdiff denoise`, in its order: the channel and level, the
  // grammar, the output folder, then the input file.
  const NoiseSpec noise{parse_channel(options.channel), options.noise};
  validate(noise);
  const Grammar grammar = load_grammar(options.grammar);
  const auto& p = grammar.params;
  OutputDir out(options.out, existing_policy(options.force), "hdiff corrupt");

  const NpyArray array = read_npy(options.tokens);
  // Clean strings: N × d tokens of the vocabulary, whatever the channel.
  check_observation_shape(p, Channel::uniform, array.shape, options.tokens);
  const std::vector<uint32_t> clean = npy_to_u32(array, options.tokens, static_cast<uint64_t>(p.v - 1));
  const int64_t count = array.shape[0], d = sequence_length(p);

  const CorruptedBatch batch = corrupt_batch(noise, p.v, d, clean, options.seed);
  if (noise.channel == Channel::gaussian)
    write_npy(out.staged("tokens.npy"), DType::f64, {count, d, p.v}, batch.values.data());
  else
    write_npy_unsigned(out.staged("tokens.npy"), {count, d}, batch.tokens,
                       max_observed_token(p, noise.channel));
  out.commit();
  fmt::print("corrupted {} strings ({} channel, noise {}, seed {}); wrote {}\n", count, channel_name(noise.channel),
             noise.level, options.seed, (out.dir() / "tokens.npy").string());
}

}  // namespace

void add_corrupt_command(CLI::App& app) {
  auto options = std::make_shared<CorruptOptions>();
  auto* command = app.add_subcommand(
      "corrupt",
      "Apply a forward noise channel to clean strings: DIR/tokens.npy, the observations `hdiff denoise --tokens` "
      "reads (the same bits as Python's hdiff.corrupt with the same seed)");
  command->add_option("--grammar", options->grammar, "grammar JSON file")->required();
  command->add_option("--tokens", options->tokens, "clean strings .npy: integer tokens N×d in [0, v) (`hdiff sample`)")
      ->required();
  command->add_option("--channel", options->channel,
                      "uniform (resample), mask (value v means MASK), gaussian (DIR/tokens.npy holds float64 "
                      "observations N×d×v) or soft (the papers' epsilon-process keeps every token: the output equals "
                      "the input, the noise lives in denoise's likelihoods)")
      ->required();
  command->add_option("--noise", options->noise, "noise level: epsilon in [0,1] (alpha-bar in [0,1) for gaussian)")
      ->required();
  command->add_option("--seed", options->seed,
                      "noise seed; row n uses the stream `hdiff phase` uses for sample n at its first noise point")
      ->capture_default_str();
  command->add_option("--out", options->out, "output folder")->required();
  add_force_flag(*command, options->force);
  command->callback([options] { run_corrupt(*options); });
}

}  // namespace hdiff::cli
