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

// example() with the two other distances: l2 = 10 x (1 - similarity), l2_normalised = 1 - similarity.
ProbeTable example_with_distances() {
  auto t = example();
  for (auto& row : t.results)
    for (auto& p : row)
      for (double sim : p.similarity) {
        p.l2.push_back(10 * (1 - sim));
        p.l2_normalised.push_back(1 - sim);
      }
  return t;
}

TEST(ProbeTable, SimilaritySplitHasThreeDistancesByClassOutcome) {
  const auto rows = summarize_distances_by_class(example_with_distances());
  ASSERT_EQ(rows.size(), 2u * 2 * 3 * 2);  // k x depth x distance x (kept, changed)
  // k = 5, depth 1, l2: image a changed (similarity 0.1 -> l2 9), b kept (0.3 -> 7).
  const auto& kept = rows[(1 * 2 + 1) * 6 + 1 * 2 + 0];
  const auto& changed = rows[(1 * 2 + 1) * 6 + 1 * 2 + 1];
  EXPECT_EQ(kept.k, 5);
  EXPECT_EQ(kept.depth, 1u);
  EXPECT_EQ(kept.distance, 1u);
  EXPECT_TRUE(kept.class_kept);
  EXPECT_FALSE(changed.class_kept);
  EXPECT_EQ(kept.n, 1u);
  EXPECT_NEAR(*kept.mean, 7.0, 1e-12);
  EXPECT_NEAR(*changed.mean, 9.0, 1e-12);
  EXPECT_FALSE(kept.se);  // one pair: no standard error
  const auto csv = lines(similarity_split_csv(example_with_distances()));
  ASSERT_EQ(csv.size(), 1u + rows.size());
  EXPECT_EQ(csv[0], "k,k_over_K,probe,depth,distance,class,n,mean,se");
  // k = 0: both kept; cosine at depth 0 over 1.0 and 0.8: mean 0.9, se 0.1; nobody changed.
  EXPECT_EQ(csv[1], "0,0,features.0,0,cosine,kept,2,0.9,0.1");
  EXPECT_EQ(csv[2], "0,0,features.0,0,cosine,changed,0,,");
  EXPECT_EQ(csv[6], "0,0,features.0,0,l2_normalised,changed,0,,");
  EXPECT_EQ(csv[1 + (1 * 2 + 1) * 6 + 1 * 2 + 1], "5,0.5,classifier,1,l2,changed,1,9,");
}

TEST(ProbeTable, ClassChangedIsOneMinusClassKept) {
  const auto csv = lines(class_changed_csv(example()));
  ASSERT_EQ(csv.size(), 3u);
  EXPECT_EQ(csv[0], "k,k_over_K,n,class_changed,class_changed_se");
  EXPECT_EQ(csv[1], "0,0,2,0,0");
  EXPECT_EQ(csv[2], "5,0.5,2,0.5,0.5");
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

TEST(ImageExperimentConfig, FashionMnistStartAndPatch) {
  auto text = kGood;
  text.replace(text.find("start = \"start\""), 15, "fashion_mnist = \"idx\"\nper_class = 3");
  const auto c = parse_image_experiment_config(text + "patch = 7\n", "e.toml", "/base");
  EXPECT_TRUE(c.start.empty());
  EXPECT_EQ(c.fashion_mnist, "/base/idx");
  EXPECT_EQ(c.per_class, 3);
  EXPECT_EQ(c.patch, 7);
  EXPECT_EQ(parse_image_experiment_config(kGood, "e.toml", "/base").patch, 4);
  // Exactly one start: both, or neither, is an error.
  auto both = kGood;
  both.replace(both.find("start = \"start\""), 15, "start = \"s\"\nfashion_mnist = \"idx\"");
  EXPECT_NE(config_error(both).find("give exactly one of images.start"), std::string::npos);
  auto neither = kGood;
  neither.replace(neither.find("start = \"start\""), 15, "");
  EXPECT_NE(config_error(neither).find("give exactly one of images.start"), std::string::npos);
  auto stray = kGood;
  stray.replace(stray.find("start = \"start\""), 15, "start = \"s\"\nper_class = 2");
  EXPECT_NE(config_error(stray).find("images.per_class applies to images.fashion_mnist only"), std::string::npos);
  EXPECT_NE(config_error(kGood + "patch = 0\n").find("run.patch = 0 is out of range"), std::string::npos);
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
