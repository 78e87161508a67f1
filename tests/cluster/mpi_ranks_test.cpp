// Runs across MPI ranks (mpirun --oversubscribe -n 1, 2, 3): byte-identical
// outputs to a plain one-process run, resumption of a journal with another
// number of ranks, and errors reported once with no output. Registered only
// when MPI was found (tests/cluster/CMakeLists.txt).

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>

#include "cli/cli_support.h"
#include "cluster/journal.h"
#include "cluster/unit_runner.h"
#include "experiment/phase_units.h"
#ifdef HDIFF_WITH_IMAGES
#include "image/io/image_io.h"
#endif

namespace hdiff {
namespace {

using testing::CommandResult;
using testing::fresh_folder;
using testing::read_text;
using testing::run_hdiff;

// `mpirun -n ranks hdiff arguments` in `folder`.
CommandResult run_ranks(int ranks, const std::string& arguments, const std::filesystem::path& folder) {
  return run_hdiff(arguments, folder, {.prefix = fmt::format("'{}' --oversubscribe -n {} ", HDIFF_MPIEXEC, ranks)});
}

// A grid of two grammars whose units differ in cost, so that ranks finish out of order.
const std::string kConfig = testing::PhaseToml{.m = "[2, 3]", .L = "[2, 3, 5]", .seeds = 3, .values = "[0.1, 0.4]",
                                               .samples = 400, .trajectories = 2, .seed = 11}
                                .text();

void expect_same(const std::filesystem::path& a, const std::filesystem::path& b, const std::vector<std::string>& files) {
  for (const auto& file : files) {
    ASSERT_TRUE(std::filesystem::exists(a / file)) << a / file;
    EXPECT_EQ(read_text(a / file), read_text(b / file)) << b / file;
  }
}

const std::vector<std::string> kPhaseFiles = {"results.csv", "conditional.csv", "changes.csv", "correlations.csv"};

TEST(MpiRanks, PhaseOutputsAreByteIdenticalForOneTwoAndThreeRanks) {
  const auto folder = fresh_folder("mpi-phase");
  std::ofstream(folder / "c.toml") << kConfig;
  const auto plain = run_hdiff("phase --config c.toml --out plain --threads 1", folder);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  for (int ranks : {1, 2, 3}) {
    const auto result = run_ranks(ranks, fmt::format("phase --config c.toml --out r{} --threads 1", ranks), folder);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    expect_same(folder / "plain", folder / fmt::format("r{}", ranks), kPhaseFiles);
    // Rank 0 alone prints; the summary is the one-process summary but for the time.
    EXPECT_EQ(result.out.substr(0, result.out.rfind("wrote")), plain.out.substr(0, plain.out.rfind("wrote"))) << ranks;
    const auto record = nlohmann::json::parse(read_text(folder / fmt::format("r{}/run.json", ranks)));
    EXPECT_EQ(record.at("ranks"), ranks);
    EXPECT_FALSE(std::filesystem::exists(folder / fmt::format(".r{}.unfinished", ranks)));
  }
  expect_same(folder / "plain", folder / "r3", {"v8_classes8_m2_s2/figures.gp", "v8_classes8_m3_s2/figures.gp"});
  std::filesystem::remove_all(folder);
}

TEST(MpiRanks, ThresholdGridOutputsAreByteIdenticalForOneTwoAndThreeRanks) {
  const auto folder = fresh_folder("mpi-threshold");
  const std::string arguments = "theory --v 8,16 --classes 8 --m 2,3 --channel uniform,soft --threshold --population 2000 "
                                "--replicas 4 --levels 10 --tolerance 0.05 --threads 1 --out ";
  const auto plain = run_hdiff(arguments + "plain", folder);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const std::vector<std::string> files = {"threshold.csv", "phase_diagram.gp"};
  for (int ranks : {1, 2, 3}) {
    const auto result = run_ranks(ranks, arguments + fmt::format("r{}", ranks), folder);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    expect_same(folder / "plain", folder / fmt::format("r{}", ranks), files);
    EXPECT_EQ(result.out.substr(0, result.out.rfind("wrote")), plain.out.substr(0, plain.out.rfind("wrote"))) << ranks;
  }
  std::filesystem::remove_all(folder);
}

TEST(MpiRanks, AJournalOfOneProcessIsResumedByThreeRanks) {
  const auto folder = fresh_folder("mpi-resume");
  std::ofstream(folder / "c.toml") << kConfig;
  ASSERT_EQ(run_hdiff("phase --config c.toml --out plain --threads 1", folder).exit_code, 0);
  // The journal a killed one-process run leaves after units 0, 1 and 7.
  const auto grid = parse_phase_grid(kConfig, "c.toml");
  const auto units = phase_units(grid);
  std::filesystem::create_directories(staging_folder(folder / "resumed"));
  {
    auto journal = JournalWriter::create(staging_folder(folder / "resumed") / "journal", phase_run_identity(grid));
    for (int64_t index : {0, 1, 7}) {
      const PhaseUnit& unit = units[static_cast<size_t>(index)];
      journal.append(index, run_phase_unit_result(grid[unit.grid_point], unit));
    }
  }
  auto result = run_ranks(3, "phase --config c.toml --out resumed --threads 1", folder);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("hdiff: error: resumed has an unfinished run (3 of 36 units done)"), std::string::npos) << result.err;
  result = run_ranks(3, "phase --config c.toml --out resumed --threads 1 --resume", folder);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  expect_same(folder / "plain", folder / "resumed", kPhaseFiles);
  EXPECT_EQ(nlohmann::json::parse(read_text(folder / "resumed/run.json")).at("units_resumed"), 3);
  std::filesystem::remove_all(folder);
}

TEST(MpiRanks, AnErrorIsReportedOnceAndLeavesNoOutput) {
  const auto folder = fresh_folder("mpi-error");
  std::string config = kConfig;
  config.replace(config.find("m = [2, 3]"), 10, "m = [2, 300]");
  std::ofstream(folder / "c.toml") << config;
  const auto result = run_ranks(3, "phase --config c.toml --out never --threads 1", folder);
  EXPECT_EQ(result.exit_code, 2);
  size_t lines = 0;
  for (size_t at = result.err.find("hdiff:"); at != std::string::npos; at = result.err.find("hdiff:", at + 1)) ++lines;
  EXPECT_EQ(lines, 1u) << result.err;
  EXPECT_NE(result.err.find("hdiff: error: c.toml: 1 of the 2 grammar combinations of the lists are invalid: "
                            "[v=8 classes=8 m=300 s=2]"), std::string::npos) << result.err;
  // An unwritable output folder is found by rank 0 alone, and still ends every rank with one message.
  const auto unwritable = run_ranks(3, "phase --config c.toml --out no/such/folder --threads 1", folder);
  EXPECT_EQ(unwritable.exit_code, 2);
  EXPECT_EQ(testing::entries_in(folder), 1) << "nothing but the config";
  std::filesystem::remove_all(folder);
}

#ifdef HDIFF_WITH_IMAGES
// Every file under `folder` with its bytes, by path relative to it.
std::map<std::string, std::string> files_under(const std::filesystem::path& folder) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(folder))
    if (entry.is_regular_file() && entry.path().filename() != "run.json")
      files[std::filesystem::relative(entry.path(), folder).string()] = read_text(entry.path());
  return files;
}

TEST(MpiRanks, ImageForwardBackwardIsByteIdenticalForOneTwoAndThreeRanks) {
  const auto folder = fresh_folder("mpi-images");
  std::filesystem::create_directories(folder / "in/n01");
  for (int i = 0; i < 5; ++i) {
    image::Image picture{40 + i, 36, std::vector<uint8_t>(static_cast<size_t>((40 + i) * 36 * 3))};
    for (size_t j = 0; j < picture.rgb.size(); ++j) picture.rgb[j] = static_cast<uint8_t>((j * 37 + i * 101) % 251);
    image::write_png(folder / (i < 2 ? fmt::format("in/n01/p{}.png", i) : fmt::format("in/p{}.png", i)), picture);
  }
  const auto adm = std::filesystem::path(HDIFF_FIXTURES_DIR) / "image/adm_a";
  // 5 images at 2 values of k in batches of 2: 6 units of different cost.
  const std::string arguments = fmt::format("images forward-backward --checkpoint {} --model-config {} --t 2,10 --batch 2 "
                                            "--device cpu --input in --out ", (adm / "model.pt").string(),
                                            (adm / "config.json").string());
  const auto plain = run_hdiff(arguments + "plain", folder);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const auto expected = files_under(folder / "plain");
  ASSERT_EQ(expected.size(), 15u) << "5 start images and 5 at each k";
  for (int ranks : {1, 2, 3}) {
    const auto result = run_ranks(ranks, arguments + fmt::format("r{}", ranks), folder);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(files_under(folder / fmt::format("r{}", ranks)), expected) << ranks << " ranks";
    EXPECT_NE(result.out.find("wrote 10 outputs"), std::string::npos) << result.out;
    EXPECT_EQ(nlohmann::json::parse(read_text(folder / fmt::format("r{}/run.json", ranks))).at("written"), 10);
  }
  std::filesystem::remove_all(folder);
}

// An error during the work on a rank other than 0 (an image that cannot be
// decoded, read only by the rank that owns its batch) ends every rank, with the
// error's one line and exit code 2, instead of leaving rank 0 waiting.
TEST(MpiRanks, AnErrorDuringTheWorkOnAnotherRankEndsTheJob) {
  const auto folder = fresh_folder("mpi-images-error");
  std::filesystem::create_directories(folder / "in");
  for (int i = 0; i < 4; ++i) {
    image::Image picture{40, 36, std::vector<uint8_t>(40 * 36 * 3, static_cast<uint8_t>(60 * i))};
    image::write_png(folder / fmt::format("in/p{}.png", i), picture);
  }
  std::ofstream(folder / "in/p4.png") << "not a png";
  const auto adm = std::filesystem::path(HDIFF_FIXTURES_DIR) / "image/adm_a";
  // Batches of 2 at k = 10 and 2 cost 20, 20, 10, 4, 4, 2: the largest go to
  // ranks 0 and 1, and every batch with p4.png (the last) to rank 2.
  const std::string arguments = fmt::format("images forward-backward --checkpoint {} --model-config {} --t 2,10 --batch 2 "
                                            "--device cpu --input in --out out", (adm / "model.pt").string(),
                                            (adm / "config.json").string());
  const auto result = run_ranks(3, arguments, folder);
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("p4.png"), std::string::npos) << result.err;
  size_t hdiff_lines = 0;
  for (size_t at = result.err.find("hdiff: "); at != std::string::npos; at = result.err.find("hdiff: ", at + 1)) ++hdiff_lines;
  EXPECT_EQ(hdiff_lines, 1u) << "one message, from one rank: " << result.err;
  std::filesystem::remove_all(folder);
}

TEST(MpiRanks, ImageExperimentIsByteIdenticalForOneTwoAndThreeRanks) {
  const auto folder = fresh_folder("mpi-image-experiment");
  std::filesystem::create_directories(folder / "start");
  for (int i = 0; i < 4; ++i) {
    image::Image picture{40, 36, std::vector<uint8_t>(40 * 36 * 3)};
    for (size_t j = 0; j < picture.rgb.size(); ++j) picture.rgb[j] = static_cast<uint8_t>((j * 53 + i * 17) % 253);
    image::write_png(folder / fmt::format("start/img{}.png", i), picture);
  }
  const auto fixtures = std::filesystem::path(HDIFF_FIXTURES_DIR) / "image";
  std::ofstream(folder / "experiment.toml")
      << fmt::format("[diffusion]\ncheckpoint = \"{}\"\nmodel = \"{}\"\nsteps = 10\nbatch_size = 2\n[classifier]\n"
                     "checkpoint = \"{}\"\nbatch_size = 2\n[images]\nstart = \"start\"\n[run]\nk = [0, 5, 10]\nseed = 3\n"
                     "device = \"cpu\"\n", (fixtures / "adm_a/model.pt").string(), (fixtures / "adm_a/config.json").string(),
                     (fixtures / "convnext/model.pt").string());
  const auto plain = run_hdiff("images experiment --config experiment.toml --out plain", folder);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const auto expected = files_under(folder / "plain");
  ASSERT_TRUE(expected.count("pairs.csv") && expected.count("summary.csv") && expected.count("k5/img3.png"));
  for (int ranks : {1, 2, 3}) {
    const auto result = run_ranks(ranks, fmt::format("images experiment --config experiment.toml --out r{}", ranks), folder);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const auto found = files_under(folder / fmt::format("r{}", ranks));
    EXPECT_EQ(found.size(), expected.size());
    for (const auto& [name, bytes] : expected) {
      // gnuplot's figures (a PDF holds its creation time)
      if (name.ends_with(".svg") || name.ends_with(".pdf") || (name.ends_with(".png") && name.find('/') == std::string::npos))
        continue;
      EXPECT_TRUE(found.count(name) && found.at(name) == bytes) << name << " with " << ranks << " ranks";
    }
  }
  std::filesystem::remove_all(folder);
}

// `hdiff net sweep` across ranks: every (P, seed) point is one unit; the tables
// and each point's trained weights are those of one process.
TEST(MpiRanks, NetSweepIsByteIdenticalForOneAndTwoRanks) {
  const auto folder = fresh_folder("mpi-net-sweep");
  std::ofstream(folder / "s.toml")
      << "[grammar]\nv = 4\nclasses = 4\nm = 2\ns = 2\nL = 2\nseed = 3\n[data]\nsamples = 64\ntest_samples = 32\n"
         "[model]\nwidth = 16\n[train]\nsteps = 8\nbatch = 16\ncheckpoints = 2\n[measure]\nnoise = [0.3, 0.7]\n"
         "loss_samples = 16\nsamples = 16\ntrajectories = 1\ngenerated = 32\n[sweep]\nsamples = [16, 32, 64]\n"
         "seeds = [0]\n";
  const auto plain = run_hdiff("net sweep --config s.toml --out plain --threads 1", folder);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const auto result = run_ranks(2, "net sweep --config s.toml --out r2 --threads 1", folder);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  expect_same(folder / "plain", folder / "r2",
              {"sweep_validity.csv", "sweep_loss.csv", "sweep_agreement.csv", "P16-seed0/model.safetensors",
               "P32-seed0/model.safetensors", "P64-seed0/model.safetensors", "P64-seed0/validity.csv"});
  EXPECT_EQ(nlohmann::json::parse(read_text(folder / "r2/run.json")).at("ranks"), 2);
  EXPECT_FALSE(std::filesystem::exists(folder / ".r2.unfinished"));
  std::filesystem::remove_all(folder);
}
#endif

}  // namespace
}  // namespace hdiff
