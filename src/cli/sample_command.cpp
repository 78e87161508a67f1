// `hdiff sample`: draw samples of a grammar with all their latents.

#include <fmt/format.h>

#include "cli/commands.h"
#include "common/error.h"
#include "common/npy.h"
#include "common/output.h"
#include "grammar/grammar_io.h"
#include "grammar/sampling.h"

namespace hdiff::cli {
namespace {

struct SampleOptions {
  std::string grammar;
  int64_t count = 1000;
  uint64_t seed = 0;
  std::string out;
  bool force = false;
};

}  // namespace

void add_sample_command(CLI::App& app) {
  auto options = std::make_shared<SampleOptions>();
  auto* command = app.add_subcommand(
      "sample", "Draw N samples: DIR/tokens.npy (N×d) and DIR/latents_<l>.npy (N×s^l) for l = 0..L");
  command->add_option("--grammar", options->grammar, "grammar JSON file (from `hdiff grammar --out`)")->required();
  command->add_option("--n", options->count, "number of samples N")->capture_default_str();
  command->add_option("--seed", options->seed, "sampling seed")->capture_default_str();
  command->add_option("--out", options->out, "output folder")->required();
  add_force_flag(*command, options->force);
  command->callback([options] {
    if (options->count < 1) fail("--n {} is too small; draw at least 1 sample", options->count);
    const Grammar grammar = load_grammar(options->grammar);
    const auto& p = grammar.params;
    OutputDir out(options->out, existing_policy(options->force), "hdiff sample");
    const SampleBatch batch = sample_batch(grammar, options->seed, 0, options->count);
    for (int level = 0; level <= p.L; ++level) {
      const int64_t width = nodes_at_level(p, level);
      std::vector<uint32_t> values(static_cast<size_t>(batch.count * width));
      for (int64_t n = 0; n < batch.count; ++n) {
        const auto tree = batch.tree(n);
        std::copy_n(tree.begin() + level_offset(p, level), width, values.begin() + n * width);
      }
      const uint64_t max_value = static_cast<uint64_t>(symbols_at_level(p, level) - 1);
      write_npy_unsigned(out.staged(fmt::format("latents_{}.npy", level)), {batch.count, width}, values, max_value);
      if (level == p.L) write_npy_unsigned(out.staged("tokens.npy"), {batch.count, width}, values, max_value);
    }
    out.commit();
    fmt::print("wrote {} samples of {} tokens to {}\n", batch.count, sequence_length(p), out.dir().string());
  });
}

}  // namespace hdiff::cli
