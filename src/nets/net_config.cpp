#include "nets/net_config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "common/error.h"
#include "common/random.h"
#include "common/toml_input.h"
#include "denoiser/measure.h"
#include "text/tokenizer.h"

namespace hdiff::nets {

bool is_text(const NetConfig& config) { return config.data_source == "kjv"; }

int token_vocabulary(const NetConfig& config) {
  if (!is_text(config)) return config.grammar.v;
  return config.text_tokens == "words" ? config.text_vocabulary : static_cast<int>(text::kCharacterAlphabet.size());
}

int tree_arity(const NetConfig& config) { return is_text(config) ? 2 : config.grammar.s; }

int tree_depth(const NetConfig& config) {
  if (!is_text(config)) return config.grammar.L;
  int depth = 0;
  while ((int64_t{1} << depth) < config.text_length) ++depth;
  return depth;
}

text::TextCorpus load_text_corpus(const NetConfig& config) {
  return text::make_text_corpus(text::read_kjv_bible(config.text_path), text::parse_token_unit(config.text_tokens),
                                config.text_vocabulary, config.text_length);
}

int64_t token_length(const NetConfig& config) {
  return is_text(config) ? config.text_length : sequence_length(config.grammar);
}

const char* const kDefaultNetConfig = R"(# hdiff net train: a tree-shaped U-Net learns an L = 3 Random Hierarchy Model
# under masked diffusion (docs/networks.md). Any key may be left out of a
# --config file: it then takes the value below.
[grammar]
v = 8
classes = 8
m = 3
s = 2
L = 3
seed = 1

[data]
source = "rhm"        # "rhm": strings of the grammar above; "kjv": the King James Bible ([text], docs/text.md)
samples = 4096        # P training strings
test_samples = 1024   # held-out strings
seed = 0

[text]                # used by source = "kjv" only
path = "/usr/lib/bible.data"  # the bible program's data file (Debian's bible-kjv-text)
tokens = "characters" # "characters" (37 symbols) or "words" (vocabulary below)
vocabulary = 4096     # words: the most frequent training words kept, the rest <unk>
length = 128          # tokens per sequence

[process]
kind = "mask"         # "mask" (MDLM) or "uniform" (D3PM)
steps = 100           # T of the uniform process

[model]
architecture = "unet" # "unet" (tree-shaped) or "transformer"
width = 128
blocks = 1            # residual MLP blocks per level (unet)
layers = 2            # encoder layers (transformer)
heads = 4             # attention heads (transformer)
time_embedding = true
positions = "learned" # transformer: "learned" or "sinusoidal" (fixed; the text model's)

[train]
steps = 8000
time_budget_seconds = 0   # 0: no budget; else stop when spent (results then depend on timing)
batch = 128
learning_rate = 0.001
seed = 0
checkpoints = 10
ce_weight = 0.01          # lambda of the uniform process's auxiliary cross-entropy

[measure]
noise = [0.1, 0.3, 0.5, 0.7, 0.9]
loss_samples = 500        # strings per split for loss.csv and train_loss.csv
samples = 500             # clean samples of the forward-backward experiment
trajectories = 2
generated = 1000          # strings generated from pure noise per checkpoint
seed = 0
)";

namespace {

// Reads the keys of one section onto the config; a missing key keeps its value.
class Section {
 public:
  Section(const toml::table& root, const char* name, std::set<std::string> known, const std::string& source)
      : name_(name), source_(source) {
    const auto* node = root.get(name);
    if (!node) return;
    if (!node->is_table()) fail("{}: '{}' must be a section [{}]", toml_where(source, *node), name, name);
    table_ = node->as_table();
    reject_unknown_keys(*table_, std::string(name) + ".", known, source);
  }

  template <typename Int>
  void integer(const char* key, Int& out, int64_t low, int64_t high) const {
    const toml::node* node = find(key);
    if (!node) return;
    const auto value = node->is_integer() ? node->value<int64_t>() : std::nullopt;
    if (!value) fail("{}: {}.{} must be an integer", toml_where(source_, *node), name_, key);
    if (*value < low || *value > high)
      fail("{}: {}.{} = {} is out of range; it must lie in [{}, {}]", toml_where(source_, *node), name_, key, *value, low,
           high);
    out = static_cast<Int>(*value);
  }

  void real(const char* key, double& out, double low, double high) const {
    const toml::node* node = find(key);
    if (!node) return;
    if (!node->is_number()) fail("{}: {}.{} must be a number", toml_where(source_, *node), name_, key);
    const double value = *node->value<double>();
    if (!(value >= low && value <= high))
      fail("{}: {}.{} = {} is out of range; it must lie in [{}, {}]", toml_where(source_, *node), name_, key, value, low,
           high);
    out = value;
  }

  void boolean(const char* key, bool& out) const {
    const toml::node* node = find(key);
    if (!node) return;
    if (!node->is_boolean()) fail("{}: {}.{} must be true or false", toml_where(source_, *node), name_, key);
    out = *node->value<bool>();
  }

  void choice(const char* key, std::string& out, const std::set<std::string>& choices) const {
    const toml::node* node = find(key);
    if (!node) return;
    std::string list;
    for (const auto& c : choices) list += (list.empty() ? "\"" : ", \"") + c + "\"";
    if (!node->is_string() || !choices.count(std::string(*node->value<std::string>())))
      fail("{}: {}.{} must be one of {}", toml_where(source_, *node), name_, key, list);
    out = *node->value<std::string>();
  }

  void string(const char* key, std::string& out) const {
    const toml::node* node = find(key);
    if (!node) return;
    if (!node->is_string() || node->value<std::string>()->empty())
      fail("{}: {}.{} must be a non-empty string", toml_where(source_, *node), name_, key);
    out = *node->value<std::string>();
  }

  void numbers(const char* key, std::vector<double>& out, double low, double high) const {
    const toml::node* node = find(key);
    if (!node) return;
    const auto* array = node->as_array();
    if (!array || array->empty())
      fail("{}: {}.{} must be a non-empty list of numbers, e.g. [0.1, 0.5]", toml_where(source_, *node), name_, key);
    out.clear();
    for (const auto& element : *array) {
      if (!element.is_number()) fail("{}: {}.{} must contain only numbers", toml_where(source_, element), name_, key);
      const double value = *element.value<double>();
      if (!(value >= low && value <= high))
        fail("{}: {}.{} holds {}, out of range; values lie in [{}, {}]", toml_where(source_, element), name_, key, value,
             low, high);
      out.push_back(value);
    }
  }

 private:
  const toml::node* find(const char* key) const { return table_ ? table_->get(key) : nullptr; }
  const char* name_;
  const std::string& source_;
  const toml::table* table_ = nullptr;
};

void apply(const toml::table& root, const std::string& source, NetConfig& c, bool sweep = false) {
  std::set<std::string> sections = {"grammar", "data", "text", "process", "model", "train", "measure"};
  if (sweep) sections.insert("sweep");
  reject_unknown_keys(root, "", sections, source);
  const Section grammar(root, "grammar", {"v", "classes", "m", "s", "L", "seed"}, source);
  grammar.integer("v", c.grammar.v, 2, 1 << 16);
  grammar.integer("classes", c.grammar.n_classes, 1, 1 << 16);
  grammar.integer("m", c.grammar.m, 1, 1 << 16);
  grammar.integer("s", c.grammar.s, 2, 16);
  grammar.integer("L", c.grammar.L, 1, 12);
  grammar.integer("seed", c.grammar.seed, 0, INT64_MAX);
  const Section data(root, "data", {"source", "samples", "test_samples", "seed"}, source);
  data.choice("source", c.data_source, {"rhm", "kjv"});
  data.integer("samples", c.samples, 1, int64_t{1} << 32);
  data.integer("test_samples", c.test_samples, 1, int64_t{1} << 32);
  data.integer("seed", c.data_seed, 0, INT64_MAX);
  const Section text_section(root, "text", {"path", "tokens", "vocabulary", "length"}, source);
  text_section.string("path", c.text_path);
  text_section.choice("tokens", c.text_tokens, {"characters", "words"});
  text_section.integer("vocabulary", c.text_vocabulary, 2, text::kMaxWordVocabulary);
  text_section.integer("length", c.text_length, 2, 65536);
  const Section process(root, "process", {"kind", "steps"}, source);
  std::string kind = channel_name(c.process);
  process.choice("kind", kind, {"mask", "uniform"});
  c.process = parse_channel(kind);
  process.integer("steps", c.uniform_steps, kMinUniformSteps, kMaxUniformSteps);
  const Section model(root, "model", {"architecture", "width", "blocks", "layers", "heads", "time_embedding", "positions"},
                      source);
  model.choice("architecture", c.architecture, {"unet", "transformer"});
  model.integer("width", c.width, 1, 1 << 14);
  model.integer("blocks", c.blocks, 0, 64);
  model.integer("layers", c.layers, 1, 64);
  model.integer("heads", c.heads, 1, 256);
  model.boolean("time_embedding", c.time_embedding);
  model.choice("positions", c.positions, {"learned", "sinusoidal"});
  const Section train(root, "train",
                      {"steps", "time_budget_seconds", "batch", "learning_rate", "seed", "checkpoints", "ce_weight"},
                      source);
  train.integer("steps", c.steps, 1, int64_t{1} << 40);
  train.real("time_budget_seconds", c.time_budget_seconds, 0, 1e9);
  train.integer("batch", c.batch, 1, 1 << 20);
  train.real("learning_rate", c.learning_rate, 0, 1e300);
  train.integer("seed", c.train_seed, 0, INT64_MAX);
  train.integer("checkpoints", c.checkpoints, 1, 1000);
  train.real("ce_weight", c.ce_weight, 0, 1e6);
  const Section measure(root, "measure", {"noise", "loss_samples", "samples", "trajectories", "generated", "seed"},
                        source);
  measure.numbers("noise", c.noise, 0, 1);
  measure.integer("loss_samples", c.loss_samples, 1, int64_t{1} << 32);
  measure.integer("samples", c.phase_samples, 1, int64_t{1} << 32);
  measure.integer("trajectories", c.trajectories, 1, 1000);
  measure.integer("generated", c.generated, 1, int64_t{1} << 32);
  measure.integer("seed", c.measure_seed, 0, INT64_MAX);
}

}  // namespace

namespace {

NetConfig checked_config(const toml::table& root, const std::string& source, bool sweep) {
  NetConfig config;
  apply(parse_toml_input(kDefaultNetConfig, "default config"), "default config", config);
  apply(root, source, config, sweep);
  try {
    validate(config.grammar);
  } catch (const Error& e) {
    fail("{}: [grammar] {}", source, e.what());
  }
  if (is_text(config) && config.architecture == "unet" && (config.text_length & (config.text_length - 1)) != 0)
    fail("{}: model.architecture = \"unet\" on text needs text.length a power of two (a binary tree over the "
         "sequence); {} is not", source, config.text_length);
  if (is_text(config) && config.process != Channel::mask)
    fail("{}: process.kind = \"{}\": the text model is trained and measured under masked diffusion; use \"mask\"",
         source, channel_name(config.process));
  if (config.architecture == "transformer" && config.width % config.heads != 0)
    fail("{}: model.width = {} must be a multiple of model.heads = {}", source, config.width, config.heads);
  try {
    validate(measure_config(config), config.grammar);
  } catch (const Error& e) {
    fail("{}: [measure] {}", source, e.what());
  }
  if (config.loss_samples > config.test_samples)
    fail("{}: measure.loss_samples = {} exceeds data.test_samples = {}; the loss tables use held-out strings", source,
         config.loss_samples, config.test_samples);
  return config;
}

}  // namespace

NetConfig parse_net_config(std::string_view text, const std::string& source) {
  return checked_config(parse_toml_input(text, source), source, false);
}

const char* const kDefaultNetSweepConfig = R"(# hdiff net sweep: one model per (P, seed), every other key as in the default
# training config (hdiff net train --print-default-config), which any section
# here may override. About 3 minutes per model on 2 cores.
[sweep]
samples = [256, 1024, 4096, 16384]   # P
seeds = [0]                          # each seed sets data.seed and train.seed
)";

NetSweepConfig parse_net_sweep(std::string_view text, const std::string& source) {
  const toml::table root = parse_toml_input(text, source);
  NetSweepConfig sweep;
  sweep.base = checked_config(root, source, true);
  const toml::table defaults = parse_toml_input(kDefaultNetSweepConfig, "default sweep config");
  for (const toml::table* table : {&defaults, &root}) {
    const Section section(*table, "sweep", {"samples", "seeds"}, source);
    std::vector<double> samples, seeds;
    section.numbers("samples", samples, 1, 4294967296.0);
    section.numbers("seeds", seeds, 0, 9007199254740992.0);
    if (!samples.empty()) sweep.samples.clear();
    for (double p : samples) {
      if (p != std::floor(p)) fail("{}: sweep.samples must list whole numbers", source);
      sweep.samples.push_back(static_cast<int64_t>(p));
    }
    if (!seeds.empty()) sweep.seeds.clear();
    for (double seed : seeds) {
      if (seed != std::floor(seed)) fail("{}: sweep.seeds must list whole numbers", source);
      sweep.seeds.push_back(static_cast<uint64_t>(seed));
    }
  }
  if (std::set<int64_t>(sweep.samples.begin(), sweep.samples.end()).size() != sweep.samples.size() ||
      std::set<uint64_t>(sweep.seeds.begin(), sweep.seeds.end()).size() != sweep.seeds.size())
    fail("{}: sweep.samples and sweep.seeds must not list a value twice", source);
  return sweep;
}

NetConfig sweep_point(const NetSweepConfig& sweep, int64_t samples, uint64_t seed) {
  NetConfig config = sweep.base;
  config.samples = samples;
  config.data_seed = seed;
  config.train_seed = seed;
  return config;
}

namespace {
constexpr uint64_t kMeasureSeedSalt = 0x6d65'6173'7572'6500ULL;
}  // namespace

DenoiserPhaseConfig measure_config(const NetConfig& config) {
  DenoiserPhaseConfig phase;
  phase.channel = config.process;
  phase.noise = config.noise;
  phase.samples = config.phase_samples;
  phase.trajectories = config.trajectories;
  phase.uniform_steps = config.uniform_steps;
  // Its clean samples are sample_tree(grammar, seed, n) for n = 0, 1, …: with
  // the data's seed they would be the training strings themselves. A seed of
  // its own keeps them fresh.
  phase.seed = mix64(config.measure_seed ^ kMeasureSeedSalt);
  return phase;
}

NetConfig load_net_config(const std::string& path) { return parse_net_config(read_toml_text(path, "config"), path); }

// The text model (docs/text.md): sized to train in at most 25 minutes on one (shared) core.
const char* const kKjvPresetConfig = R"([data]
source = "kjv"

[text]
tokens = "characters"
length = 128          # a power of two: the U-Net is a binary tree over the sequence

[model]
architecture = "unet" # the transformer (pre-norm) learns too, more slowly per minute (docs/text.md)
width = 128
blocks = 1

[train]
steps = 5000
time_budget_seconds = 1500  # 25 minutes: on a busy machine it stops there (run.json says where)
batch = 64
learning_rate = 0.001
checkpoints = 8

[measure]
loss_samples = 128    # training and validation sequences for the bits per character of every checkpoint
)";

const std::vector<NetPreset>& net_presets() {
  static const std::vector<NetPreset> presets = {
      {"default", "the default: masked diffusion, tree U-Net, v = n_c = 8, m = 3, s = 2, L = 3", ""},
      {"uniform", "the default grammar and U-Net under uniform discrete diffusion (D3PM, T = 100)",
       "[process]\nkind = \"uniform\"\nsteps = 100\n"},
      {"transformer", "the default grammar under masked diffusion with a bidirectional transformer (the control)",
       "[model]\narchitecture = \"transformer\"\nwidth = 128\nlayers = 2\nheads = 4\n"},
      {"pnas2025", "the papers' grammar v = n_c = 32, m = 8, s = 2, L = 3 (opt-in: larger, about an hour)",
       "[grammar]\nv = 32\nclasses = 32\nm = 8\nL = 3\n\n[data]\nsamples = 65536\n\n[model]\nwidth = 256\nblocks = 2\n\n"
       "[train]\nsteps = 20000\nbatch = 256\n"},
      {"kjv", "text: the King James Bible as characters, masked diffusion, U-Net over 128 characters (docs/text.md)",
       kKjvPresetConfig},
  };
  return presets;
}

const NetPreset& find_net_preset(const std::string& name) {
  std::string names;
  for (const auto& preset : net_presets()) {
    if (name == preset.name) return preset;
    names += (names.empty() ? "" : ", ") + std::string(preset.name);
  }
  fail("unknown preset '{}'; the presets are {}", name, names);
}

std::string net_preset_list() {
  std::string text;
  for (const auto& preset : net_presets()) text += fmt::format("{:<12} {}\n", preset.name, preset.description);
  return text;
}

std::string grammar_identity(const NetConfig& c) {
  if (is_text(c))
    return c.text_tokens == "words"
               ? fmt::format("kjv tokens=words vocabulary={} length={}", c.text_vocabulary, c.text_length)
               : fmt::format("kjv tokens=characters length={}", c.text_length);
  return fmt::format("v={} classes={} m={} s={} L={} seed={}", c.grammar.v, c.grammar.n_classes, c.grammar.m,
                     c.grammar.s, c.grammar.L, c.grammar.seed);
}

std::string architecture_identity(const NetConfig& c) {
  if (c.architecture == "unet")
    return fmt::format("unet width={} blocks={} time_embedding={}", c.width, c.blocks, c.time_embedding);
  // "pre-norm": the post-norm transformer's checkpoints (identity "transformer width=…") are refused by
  // name, not loaded into the pre-norm layers. Learned positions say nothing (the default).
  return fmt::format("transformer pre-norm width={} layers={} heads={} time_embedding={}{}", c.width, c.layers, c.heads,
                     c.time_embedding, c.positions == "sinusoidal" ? " positions=sinusoidal" : "");
}

std::string process_identity(const NetConfig& c) {
  return c.process == Channel::mask ? std::string("mask") : fmt::format("uniform steps={}", c.uniform_steps);
}

std::vector<int64_t> checkpoint_steps(int64_t steps, int checkpoints) {
  std::vector<int64_t> out;
  if (checkpoints <= 1 || steps <= 1) return {steps};
  for (int i = 0; i < checkpoints; ++i) {
    const double x = std::pow(static_cast<double>(steps), static_cast<double>(i) / (checkpoints - 1));
    const auto step = std::clamp<int64_t>(std::llround(x), 1, steps);
    if (out.empty() || step > out.back()) out.push_back(step);
  }
  if (out.back() != steps) out.push_back(steps);
  return out;
}

}  // namespace hdiff::nets
