// Inputs that must not hurt a run (issue 25): devices, endless files and FIFOs
// given as inputs or found at the journal's path, and journal records whose CRC
// is right but whose values no unit can produce. Each is refused with one line,
// exit 2, before any work and without output; a hang fails (a timeout ends it).

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "cli/cli_support.h"
#include "cluster/journal.h"
#include "cluster/unit_runner.h"
#include "experiment/phase_units.h"

namespace hdiff {
namespace {

using testing::fresh_folder;

class SpecialInput : public ::testing::Test {
 protected:
  void SetUp() override {
    folder = fresh_folder(std::string("special-") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_EQ(testing::run_hdiff("grammar --v 6 --classes 3 --m 2 --s 2 --L 3 --seed 5 --out g.json", folder).exit_code, 0);
    ASSERT_EQ(::mkfifo((folder / "fifo").c_str(), 0600), 0);
    small.write(folder / "c.toml");
  }
  void TearDown() override { std::filesystem::remove_all(folder); }

  // Exit 2 (a hang is killed after 60 s: exit 137), one "hdiff: error:" line
  // holding every needle, nothing on stdout, nothing new in the folder.
  void expect_refused(const std::string& arguments, std::initializer_list<std::string> needles) {
    testing::expect_refused(folder, arguments, needles, {.prefix = "timeout -s KILL 60 "});
  }

  const testing::PhaseToml small{.L = "[2, 3]", .seeds = 2, .values = "[0.1, 0.4]", .samples = 40, .seed = 5};
  std::filesystem::path folder;
};

// /dev/zero and /dev/urandom grew memory by 0.3-0.5 GB/s until "out of memory"; a FIFO hung.
TEST_F(SpecialInput, DevicesAndFifosAsInputsAreRefusedBeforeReading) {
  for (const std::string path : {"/dev/zero", "/dev/urandom", "fifo"}) {
    const std::initializer_list<std::string> needles = {path, "not a regular file"};
    expect_refused("sample --grammar " + path + " --n 2 --out out", needles);
    expect_refused("grammar --show " + path, needles);
    expect_refused("denoise --grammar " + path + " --noise 0.1 --tokens g.json --out out", needles);
    expect_refused("denoise --grammar g.json --noise 0.1 --tokens " + path + " --out out", needles);
    expect_refused("phase --config " + path + " --out out", needles);
    expect_refused("theory --v 8 --classes 4 --m 2 --compare " + path + " --out out", needles);
  }
  // A link to a regular file is that file.
  std::filesystem::create_symlink("g.json", folder / "link.json");
  EXPECT_EQ(testing::run_hdiff("sample --grammar link.json --n 2 --out out", folder).exit_code, 0);
}

// A FIFO at the journal's path hung `--resume`.
TEST_F(SpecialInput, AFifoAtTheJournalPathIsRefused) {
  std::filesystem::create_directories(folder / ".out.unfinished");
  ASSERT_EQ(::mkfifo((folder / ".out.unfinished/journal").c_str(), 0600), 0);
  expect_refused("phase --config c.toml --out out --resume",
                 {"the journal .out.unfinished/journal", "a FIFO", "delete .out.unfinished to start over"});
}

// Journal records with a valid CRC and finite values within ±1e30 put inf and
// NaN into conditional.csv (exit 0), and a count of 1e30 became a sample count
// of -9223372036854775808 (undefined float-to-integer conversion).
TEST_F(SpecialInput, JournalRecordsNoUnitCanProduceAreRefused) {
  const std::vector<PhaseConfig> grid = parse_phase_grid(small.text(), "c.toml");
  const auto units = phase_units(grid);
  const UnitMeasures real = run_phase_unit_measures(grid[0], units[0]);
  const std::vector<std::function<void(UnitMeasures&)>> forgeries = {
      [](UnitMeasures& m) { m.kept[0].count[0] = 1e30; },
      [](UnitMeasures& m) { m.agreement[0] = -1e30; },
      [](UnitMeasures& m) {  // χ = total / diagonal overflowed
        m.changes[1].diagonal[0] = 1e-300;
        m.changes[1].total[0] = 1;
      },
  };
  for (size_t k = 0; k < forgeries.size(); ++k) {
    UnitMeasures forged = real;
    forgeries[k](forged);
    const std::string out = "out" + std::to_string(k);
    const auto staging = staging_folder(folder / out);
    std::filesystem::create_directories(staging);
    auto journal = JournalWriter::create(staging / "journal", phase_run_identity(grid));
    journal.append(0, encode_unit_measures(forged));  // the CRC is the right one
    journal.sync();
    expect_refused("phase --config c.toml --out " + out + " --resume",
                   {"the journal ." + out + ".unfinished/journal is damaged", "unit 0", "impossible",
                    "delete ." + out + ".unfinished to start over"});
    EXPECT_FALSE(std::filesystem::exists(folder / out));
  }
}

}  // namespace
}  // namespace hdiff
