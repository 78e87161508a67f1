// `hdiff grammar`: make a random grammar and save it, or show a saved one.

#include <fmt/format.h>

#include <cmath>

#include "cli/commands.h"
#include "common/error.h"
#include "common/output.h"
#include "common/output_names.h"
#include "grammar/grammar.h"
#include "grammar/grammar_io.h"

namespace hdiff::cli {
namespace {

struct GrammarOptions {
  GrammarParams params;
  std::string out;
  std::string show;
  bool force = false;
};

void show_grammar(const Grammar& grammar, const std::string& source) {
  const auto& p = grammar.params;
  fmt::print("grammar {}\n", source);
  fmt::print("  v = {}, classes = {}, m = {}, s = {}, L = {}, seed = {}\n", p.v, p.n_classes, p.m, p.s, p.L, p.seed);
  fmt::print("  tokens per string d = s^L = {}\n", sequence_length(p));
  fmt::print("  productions per level = {} (root), {} (levels 1..L-1); tuples v^s = {}\n",
             static_cast<int64_t>(p.n_classes) * p.m, static_cast<int64_t>(p.v) * p.m, tuples_per_level(p));
  fmt::print("  f = m / v^(s-1) = {:.6g}\n", production_fraction(p));
  fmt::print("  strings per class = m^((d-1)/(s-1)) = 10^{:.4g}\n", log10_strings_per_class(p));
}

}  // namespace

void add_grammar_command(CLI::App& app) {
  auto options = std::make_shared<GrammarOptions>();
  auto* command = app.add_subcommand("grammar", "Make a random RHM grammar (--out G.json) or describe one (--show G.json)");
  command->add_option("--v", options->params.v, "vocabulary size v of levels 1..L")->capture_default_str();
  command->add_option("--classes", options->params.n_classes, "number of classes n_c (root symbols)")->capture_default_str();
  command->add_option("--m", options->params.m, "productions per symbol m")->capture_default_str();
  command->add_option("--s", options->params.s, "children per production s")->capture_default_str();
  command->add_option("--L", options->params.L, "depth L (the string has s^L tokens)")->capture_default_str();
  command->add_option("--seed", options->params.seed, "grammar seed")->capture_default_str();
  auto* out = command->add_option("--out", options->out, "write the grammar to this JSON file");
  auto* show = command->add_option("--show", options->show, "describe the grammar in this JSON file");
  out->excludes(show);
  add_force_flag(*command, options->force);
  command->callback([options, out, show] {
    if (!*out && !*show) fail("give --out G.json to make a grammar, or --show G.json to describe one");
    if (*show) {
      show_grammar(load_grammar(options->show), options->show);
      return;
    }
    check_file_writable(options->out, existing_policy(options->force));
    const RunLock lock(options->out, "hdiff grammar");
    remove_stale_siblings(options->out);
    const Grammar grammar = make_random_grammar(options->params);
    save_grammar(grammar, options->out, existing_policy(options->force));
    show_grammar(grammar, options->out);
  });
}

}  // namespace hdiff::cli
