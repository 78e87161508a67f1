// The probe's tables and figure data, and the experiment file parser.

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "common/error.h"
#include "image/experiment/image_experiment_config.h"
#include "image/probe/probe_figures.h"
#include "image/probe/probe_table.h"

namespace hdiff::image {
namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

ProbeTable example() {
  ProbeTable t;
  t.images = {"a", "b"};
  t.probes = {"features.0", "classifier"};
  t.ks = {0, 5};
  t.num_steps = 10;
  t.results = {{{3, 3, {1.0, 0.9}}, {4, 4, {0.8, 0.7}}}, {{3, 1, {0.5, 0.1}}, {4, 4, {0.3, 0.3}}}};
  return t;
}

TEST(ProbeTable, PairsCsvHasOneRowPerImageProbeAndK) {
  const auto rows = lines(pairs_csv(example()));
  ASSERT_EQ(rows.size(), 1u + 2 * 2 * 2);
  EXPECT_EQ(rows[0], "image,k,k_over_K,probe,depth,similarity,start_class,generated_class,class_kept");
  EXPECT_EQ(rows[1], "a,0,0,features.0,0,1,3,3,1");
  EXPECT_EQ(rows[6], "a,5,0.5,classifier,1,0.1,3,1,0");
}

TEST(ProbeTable, SummaryHasMeanStandardErrorAndClassKept) {
  const auto rows = summarize(example());
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[2].k, 5);
  EXPECT_EQ(rows[2].depth, 0u);
  EXPECT_EQ(rows[2].n, 2u);
  EXPECT_DOUBLE_EQ(rows[2].similarity_mean, 0.4);
  EXPECT_NEAR(rows[2].similarity_se, 0.1, 1e-12);  // sd 0.1414 / sqrt 2
  EXPECT_DOUBLE_EQ(rows[2].class_kept, 0.5);
  EXPECT_NEAR(rows[2].class_kept_se, 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(rows[0].class_kept, 1.0);
  const auto csv = lines(summary_csv(example()));
  EXPECT_EQ(csv[0], "k,k_over_K,probe,depth,n,similarity_mean,similarity_se,class_kept,class_kept_se");
  EXPECT_EQ(csv[3], "5,0.5,features.0,0,2,0.4,0.1,0.5,0.5");
}

TEST(ProbeTable, ConditionalSplitsSimilarityByClassOutcome) {
  // At k = 5 image a changed class (3 -> 1) and image b kept it.
  const auto rows = summarize_by_class(example());
  ASSERT_EQ(rows.size(), 2u * 2 * 2);
  EXPECT_TRUE(rows[0].class_kept);
  EXPECT_EQ(rows[0].n, 2u);
  EXPECT_DOUBLE_EQ(*rows[0].similarity_mean, 0.9);
  EXPECT_FALSE(rows[1].class_kept);
  EXPECT_EQ(rows[1].n, 0u);
  EXPECT_FALSE(rows[1].similarity_mean);
  EXPECT_EQ(rows[6].k, 5);
  EXPECT_EQ(rows[6].depth, 1u);
  EXPECT_DOUBLE_EQ(*rows[6].similarity_mean, 0.3);
  EXPECT_FALSE(rows[6].similarity_se) << "one pair: no standard error";
  EXPECT_DOUBLE_EQ(*rows[7].similarity_mean, 0.1);
  const auto csv = lines(conditional_csv(example()));
  ASSERT_EQ(csv.size(), 1u + 8);
  EXPECT_EQ(csv[0], "k,k_over_K,probe,depth,class,n,similarity_mean,similarity_se");
  EXPECT_EQ(csv[1], "0,0,features.0,0,kept,2,0.9,0.1");
  EXPECT_EQ(csv[2], "0,0,features.0,0,changed,0,,");
  EXPECT_EQ(csv[8], "5,0.5,classifier,1,changed,1,0.1,");
  // Each k's pairs are split, never lost: the counts add up to the images.
  for (size_t i = 0; i < rows.size(); i += 2) EXPECT_EQ(rows[i].n + rows[i + 1].n, 2u);
}

TEST(ProbeTable, UnknownKLeavesFractionEmpty) {
  auto t = example();
  t.num_steps = 0;
  EXPECT_EQ(lines(pairs_csv(t))[1], "a,0,,features.0,0,1,3,3,1");
}

TEST(ProbeFigures, DataBlocksPerProbePoint) {
  const auto sim = similarity_data(example());
  EXPECT_NE(sim.find("# classifier (depth 1)"), std::string::npos);
  EXPECT_NE(sim.find("\n\n\n# classifier"), std::string::npos);  // two blank lines between blocks
  EXPECT_EQ(lines(class_kept_data(example())).size(), 3u);
}

std::string config_error(const std::string& text) {
  try {
    parse_image_experiment_config(text, "e.toml", "/base");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

const std::string kGood = R"([diffusion]
checkpoint = "adm.pt"
model = "config.json"
steps = 10
[classifier]
checkpoint = "/abs/convnext.pth"
[images]
start = "start"
[run]
k = [5, 0, 10]
)";

TEST(ImageExperimentConfig, ParsesAndResolvesPaths) {
  const auto c = parse_image_experiment_config(kGood, "e.toml", "/base");
  EXPECT_EQ(c.diffusion_checkpoint, "/base/adm.pt");
  EXPECT_EQ(c.model, "/base/config.json");
  EXPECT_EQ(c.classifier, "/abs/convnext.pth");
  EXPECT_EQ(c.ks, (std::vector<int64_t>{0, 5, 10}));
  EXPECT_TRUE(c.reference.empty());
  EXPECT_EQ(c.device, "auto");
}

TEST(ImageExperimentConfig, ErrorsNameFileAndLine) {
  EXPECT_NE(config_error(kGood + "colour = 1\n").find("e.toml:11: unknown key 'colour' in [run]"), std::string::npos);
  auto wrong = kGood;
  wrong.replace(wrong.find("steps = 10"), 10, "steps = \"10\"");
  EXPECT_NE(config_error(wrong).find("e.toml:4: diffusion.steps must be an integer"), std::string::npos);
  EXPECT_NE(config_error("[diffusion]\n").find("missing key diffusion.checkpoint"), std::string::npos);
  auto twice = kGood;
  twice.replace(twice.find("[5, 0, 10]"), 10, "[5, 5]");
  EXPECT_NE(config_error(twice).find("run.k lists a step twice"), std::string::npos);
  EXPECT_NE(config_error("x = [").find("not valid TOML"), std::string::npos);
}

}  // namespace
}  // namespace hdiff::image
