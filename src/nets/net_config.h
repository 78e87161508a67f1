#pragma once
// The config of `hdiff net train` (docs/networks.md): the grammar, the data,
// the diffusion process, the network, the training and the measurements, read
// from TOML. Every key is optional and falls back to the default config
// (kDefaultNetConfig), so a config file need only hold what it changes.
// Guarantees: unknown sections and keys, values of the wrong type or out of
// range, and grammars that cannot be drawn are one Error naming the source (file
// or preset) and the key. Plain C++: no LibTorch.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "denoiser/measure.h"
#include "grammar/grammar.h"
#include "noise/channel.h"
#include "text/text_corpus.h"

namespace hdiff::nets {

struct NetConfig {
  GrammarParams grammar;          // [grammar] v, classes, m, s, L, seed
  int64_t samples = 0;            // [data] samples: P training strings, sample_tree(grammar, seed, n) for n < P
  int64_t test_samples = 0;       // [data] test_samples: held-out strings n = P .. P + test_samples − 1
  uint64_t data_seed = 0;         // [data] seed
  // [data] source: "rhm" (the grammar's strings, measured against exact BP) or
  // "kjv" (the King James Bible as text, docs/text.md: [text] below; no BP).
  std::string data_source = "rhm";
  std::string text_path;          // [text] path: the bible program's EC02 file
  std::string text_tokens;        // [text] tokens: "characters" or "words"
  int text_vocabulary = 0;        // [text] vocabulary: the word cap (tokens = "words")
  int64_t text_length = 0;        // [text] length: tokens per sequence
  Channel process = Channel::mask;  // [process] kind: mask or uniform
  int uniform_steps = 100;        // [process] steps: T of the uniform process
  std::string architecture;       // [model] architecture: "unet" or "transformer"
  int width = 0;                  // [model] width
  int blocks = 0;                 // [model] blocks: residual MLP blocks per level (unet)
  int layers = 0;                 // [model] layers (transformer)
  int heads = 0;                  // [model] heads (transformer)
  bool time_embedding = true;     // [model] time_embedding: the noise level fed to the network
  // [model] positions (transformer): "learned" (a parameter, N(0, 0.02²) at
  // first) or "sinusoidal" (the fixed sin/cos encoding of Vaswani et al., amplitude 1).
  std::string positions = "learned";
  int64_t steps = 0;              // [train] steps
  double time_budget_seconds = 0; // [train] time_budget_seconds: stop earlier when spent (0: no budget)
  int batch = 0;                  // [train] batch
  double learning_rate = 0;       // [train] learning_rate (Adam)
  uint64_t train_seed = 0;        // [train] seed: initial weights, minibatches, noise
  int checkpoints = 0;            // [train] checkpoints: log-spaced checkpoint steps (the last step always)
  double ce_weight = 0.01;        // [train] ce_weight: λ of the uniform process's auxiliary cross-entropy
  std::vector<double> noise;      // [measure] noise: levels of the loss and forward-backward tables
  int64_t loss_samples = 0;       // [measure] loss_samples: strings per split for the loss tables
  int64_t phase_samples = 0;      // [measure] samples: clean samples of the forward-backward experiment
  int trajectories = 2;           // [measure] trajectories per clean sample
  int64_t generated = 0;          // [measure] generated: strings generated from pure noise per checkpoint
  uint64_t measure_seed = 0;      // [measure] seed
};

// Whether the config trains on text ([data] source = "kjv").
bool is_text(const NetConfig& config);
// The token values v (MASK = v) and the sequence length d the network sees: the
// grammar's v and s^L, or the text's tokens (37 characters, or the word cap) and length.
int token_vocabulary(const NetConfig& config);
int64_t token_length(const NetConfig& config);
// The tree of the U-Net: the grammar's s and L, or for text s = 2 and L = log₂(length)
// (a text U-Net needs a power-of-two length, checked by parse_net_config).
int tree_arity(const NetConfig& config);
int tree_depth(const NetConfig& config);

// The text corpus of a text config: the EC02 file at text.path read
// (text/kjv_reader.h), tokenised and split by book into sequences.
text::TextCorpus load_text_corpus(const NetConfig& config);

// The embedded default (`hdiff net train --print-default-config`).
extern const char* const kDefaultNetConfig;

// The default config overridden by the keys of `text`; `source` names it in errors.
NetConfig parse_net_config(std::string_view text, const std::string& source);
// The forward-backward experiment's config of [measure] (checked by
// parse_net_config). Its seed is derived from measure.seed so that its clean
// samples are never the training strings (those of data.seed).
DenoiserPhaseConfig measure_config(const NetConfig& config);
// parse_net_config of the file `path` (read through toml_input.h).
NetConfig load_net_config(const std::string& path);

// `hdiff net sweep`: a training config plus [sweep] samples = [P, …] and
// seeds = [S, …]; one model per (P, S).
struct NetSweepConfig {
  NetConfig base;
  std::vector<int64_t> samples;
  std::vector<uint64_t> seeds;
};
extern const char* const kDefaultNetSweepConfig;
// The default sweep overridden by `text` (its training keys over the default training config).
NetSweepConfig parse_net_sweep(std::string_view text, const std::string& source);
// The training config of point (P, S): data.samples = P, data.seed = train.seed = S.
NetConfig sweep_point(const NetSweepConfig& sweep, int64_t samples, uint64_t seed);

// A named config.
struct NetPreset {
  const char* name;
  const char* description;
  const char* config;  // TOML over the default
};
const std::vector<NetPreset>& net_presets();
// The preset `name`; an unknown name is an Error listing the names.
const NetPreset& find_net_preset(const std::string& name);
// One line per preset: name, then what it is.
std::string net_preset_list();

// What a checkpoint must match to be loaded, as text (the checkpoint's
// metadata): the grammar with its seed, the network, the process.
std::string grammar_identity(const NetConfig& config);
std::string architecture_identity(const NetConfig& config);
std::string process_identity(const NetConfig& config);

// The checkpoint steps: 1, 2, 4, … (powers of two, as many as fit) thinned to
// `checkpoints` log-spaced steps, always ending with `steps`; increasing.
std::vector<int64_t> checkpoint_steps(int64_t steps, int checkpoints);

}  // namespace hdiff::nets
