// The config of `hdiff net train`: defaults, overrides, presets, refusals.

#include <gtest/gtest.h>

#include "common/error.h"
#include "nets/net_config.h"
#include "support/helpers.h"

using namespace hdiff;
using namespace hdiff::nets;
using hdiff::testing::error_of;

TEST(NetConfig, DefaultIsTheLThreeGrammarUnderMaskWithTheUnet) {
  const NetConfig c = parse_net_config("", "x");
  EXPECT_EQ(c.grammar.L, 3);
  EXPECT_EQ(c.grammar.v, 8);
  EXPECT_EQ(c.grammar.m, 3);
  EXPECT_EQ(c.process, Channel::mask);
  EXPECT_EQ(c.architecture, "unet");
  EXPECT_GT(c.steps, 0);
}

TEST(NetConfig, AFileOverridesKeyByKey) {
  const NetConfig c = parse_net_config("[model]\nwidth = 32\n[process]\nkind = \"uniform\"\nsteps = 50\n", "f.toml");
  EXPECT_EQ(c.width, 32);
  EXPECT_EQ(c.process, Channel::uniform);
  EXPECT_EQ(c.uniform_steps, 50);
  EXPECT_EQ(c.grammar.L, 3);  // untouched keys keep the default
}

TEST(NetConfig, EveryPresetParses) {
  for (const auto& preset : net_presets()) EXPECT_NO_THROW(parse_net_config(preset.config, preset.name)) << preset.name;
  EXPECT_EQ(parse_net_config(find_net_preset("pnas2025").config, "p").grammar.v, 32);
  EXPECT_NE(error_of([] { find_net_preset("nope"); }).find("pnas2025"), std::string::npos);
}

TEST(NetConfig, RefusalsNameTheFileAndTheKey) {
  EXPECT_NE(error_of([] { parse_net_config("[model]\nwidht = 3\n", "f.toml"); }).find("f.toml:2: unknown key 'model.widht'"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_net_config("[train]\nsteps = -1\n", "f.toml"); }).find("train.steps"), std::string::npos);
  EXPECT_NE(error_of([] { parse_net_config("[train]\nsteps = 1.5\n", "f.toml"); }).find("train.steps"), std::string::npos);
  EXPECT_NE(error_of([] { parse_net_config("[process]\nkind = \"soft\"\n", "f.toml"); }).find("process.kind"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_net_config("[grammar]\nm = 100\n", "f.toml"); }).find("f.toml: [grammar]"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_net_config("[measure]\nnoise = [1.5]\n", "f.toml"); }).find("measure.noise"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_net_config("[nope]\n", "f.toml"); }).find("unknown key 'nope'"), std::string::npos);
  EXPECT_NE(error_of([] { parse_net_config("[model]\narchitecture = \"transformer\"\nwidth = 10\nheads = 4\n", "f"); })
                .find("model.heads"),
            std::string::npos);
}

TEST(NetConfig, CheckpointStepsAreLogSpacedAndEndAtTheLastStep) {
  EXPECT_EQ(checkpoint_steps(1000, 4), (std::vector<int64_t>{1, 10, 100, 1000}));
  EXPECT_EQ(checkpoint_steps(5, 10), (std::vector<int64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(checkpoint_steps(37, 1), (std::vector<int64_t>{37}));
}

TEST(NetConfig, TheForwardBackwardSamplesAreNotTheTrainingStrings) {
  // Training strings are sample_tree(grammar, data.seed, n < P); the experiment's
  // clean samples are sample_tree(grammar, its seed, n): the seeds must differ.
  NetConfig c = parse_net_config("[data]\nseed = 5\n[measure]\nseed = 5\n", "x");
  EXPECT_NE(measure_config(c).seed, c.data_seed);
  c = parse_net_config("", "x");
  EXPECT_NE(measure_config(c).seed, c.data_seed);
  EXPECT_NE(measure_config(c).seed, measure_config(parse_net_config("[measure]\nseed = 1\n", "x")).seed);
}

TEST(NetConfig, TextConfigTakesItsVocabularyAndLengthFromTheText) {
  const NetConfig kjv = parse_net_config(find_net_preset("kjv").config, "kjv");
  EXPECT_TRUE(is_text(kjv));
  EXPECT_EQ(token_vocabulary(kjv), 37);
  EXPECT_EQ(token_length(kjv), 128);
  EXPECT_EQ(tree_arity(kjv), 2);
  EXPECT_EQ(tree_depth(kjv), 7);
  EXPECT_EQ(grammar_identity(kjv), "kjv tokens=characters length=128");
  const NetConfig words = parse_net_config("[data]\nsource = \"kjv\"\n[text]\ntokens = \"words\"\nvocabulary = 500\n"
                                           "length = 64\n", "w.toml");
  EXPECT_EQ(token_vocabulary(words), 500);
  EXPECT_EQ(token_length(words), 64);
  // The RHM default is untouched: the grammar's v and s^L.
  const NetConfig rhm = parse_net_config("", "x");
  EXPECT_FALSE(is_text(rhm));
  EXPECT_EQ(token_vocabulary(rhm), 8);
  EXPECT_EQ(token_length(rhm), 8);
  EXPECT_EQ(architecture_identity(parse_net_config("[model]\narchitecture = \"transformer\"\n", "t")),
            "transformer pre-norm width=128 layers=2 heads=4 time_embedding=true");
  // The post-norm transformer's checkpoints carried this identity: they are refused by it, not loaded.
  EXPECT_NE(architecture_identity(parse_net_config("[model]\narchitecture = \"transformer\"\n", "t")),
            "transformer width=128 layers=2 heads=4 time_embedding=true");
  EXPECT_NE(architecture_identity(parse_net_config(
                "[model]\narchitecture = \"transformer\"\npositions = \"sinusoidal\"\n", "t")).find("sinusoidal"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_net_config("[data]\nsource = \"text\"\n", "f.toml"); }).find("data.source"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_net_config("[text]\nlength = 1\n", "f.toml"); }).find("text.length"),
            std::string::npos);
}
