// `hdiff phase` on the non-hierarchical control (`[grammar] kind = "markov"`)
// end to end: token rows only in every table, the kind in run.json, the same
// files for any thread count, and `theory --scaling` refusing a run with no
// class rows in one line.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "cli/cli_support.h"

namespace hdiff {
namespace {

using testing::fresh_folder;
using testing::read_text;
using testing::run_hdiff;

constexpr const char* kMarkovToml = R"([grammar]
kind = "markov"
v = 8
classes = 8
m = 2
s = 2
L = [2, 3]
seeds = 2
[noise]
channel = "soft"
values = [0.0, 0.5, 0.9]
[run]
samples = 200
trajectories = 2
seed = 3
)";

// The `level` and `L` fields of every data row of a phase CSV are equal.
void expect_token_rows_only(const std::string& csv, size_t rows_expected, const std::string& name) {
  size_t rows = 0, at = csv.find('\n') + 1;
  while (at < csv.size()) {
    const size_t end = csv.find('\n', at);
    std::vector<std::string> fields;
    std::string line = csv.substr(at, end - at), field;
    for (char c : line + ",") {
      if (c == ',') {
        fields.push_back(field);
        field.clear();
      } else {
        field += c;
      }
    }
    ASSERT_GT(fields.size(), 9u) << name;
    EXPECT_EQ(fields[9], fields[4]) << name << ": " << line;  // level == L
    ++rows;
    at = end + 1;
  }
  EXPECT_EQ(rows, rows_expected) << name;
}

TEST(MarkovPhase, WritesTokenRowsOnlyIdenticallyForAnyThreadCount) {
  const auto folder = fresh_folder("markov_phase");
  std::ofstream(folder / "m.toml") << kMarkovToml;
  const auto one = run_hdiff("phase --config m.toml --out one --threads 1", folder);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const auto two = run_hdiff("phase --config m.toml --out two --threads 2", folder);
  ASSERT_EQ(two.exit_code, 0) << two.err;
  for (const char* file : {"results.csv", "conditional.csv", "changes.csv", "correlations.csv"})
    EXPECT_EQ(read_text(folder / "one" / file), read_text(folder / "two" / file)) << file;
  expect_token_rows_only(read_text(folder / "one/results.csv"), 2 * 3, "results.csv");
  expect_token_rows_only(read_text(folder / "one/changes.csv"), 2 * 3, "changes.csv");
  expect_token_rows_only(read_text(folder / "one/conditional.csv"), 2 * 2 * 3, "conditional.csv");
  expect_token_rows_only(read_text(folder / "one/correlations.csv"), (2 + 3) * 3, "correlations.csv");
  const auto record = nlohmann::json::parse(read_text(folder / "one/run.json"));
  EXPECT_EQ(record["config"]["grammar"]["kind"], "markov");
  EXPECT_NE(one.out.find("markov control"), std::string::npos) << one.out;
  EXPECT_EQ(one.out.find("class agreement A_0"), std::string::npos) << one.out;
  // No class rows: the scaling fit refuses the run in one line and writes nothing.
  testing::expect_refused(folder, "theory --scaling one --out fit", {"class-level"});
}

}  // namespace
}  // namespace hdiff
