// The cluster engine without MPI: cost-balanced ownership, and the journal
// (records come back exactly, a torn last record is dropped, damage and
// foreign journals are refused with a clear error).

#include "cluster/cluster.h"
#include "cluster/journal.h"
#include "cluster/unit_runner.h"
#include "common/error.h"
#include "common/parallel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <numeric>
#include <thread>

#include "support/helpers.h"

namespace hdiff {
namespace {

using testing::error_of;
using testing::fresh_folder;
using testing::read_text;

TEST(UnitAssignment, GivesEveryUnitAnOwnerAndBalancesCost) {
  const std::vector<double> costs = {8, 1, 1, 1, 1, 4, 4, 1, 1, 2};
  EXPECT_EQ(cluster::assign_units(costs, 1), std::vector<int>(costs.size(), 0));
  const std::vector<int> owner = cluster::assign_units(costs, 3);
  std::vector<double> load(3, 0);
  for (size_t i = 0; i < costs.size(); ++i) {
    ASSERT_GE(owner[i], 0);
    ASSERT_LT(owner[i], 3);
    load[static_cast<size_t>(owner[i])] += costs[i];
  }
  // Total 24: a perfect split is 8 each, and largest-first reaches it here.
  EXPECT_EQ(load, (std::vector<double>{8, 8, 8}));
  EXPECT_EQ(owner[0], 0) << "the largest unit goes first, to rank 0";
  EXPECT_EQ(cluster::assign_units(costs, 3), owner) << "the same answer every time (every rank computes it)";
  // More ranks than units: some ranks own nothing, none owns two.
  const std::vector<int> sparse = cluster::assign_units(std::vector<double>{1, 1}, 5);
  EXPECT_NE(sparse[0], sparse[1]);
}

std::string payload(int64_t unit) { return std::string(static_cast<size_t>(100 + unit * 37), static_cast<char>('a' + unit)); }

TEST(Journal, RecordsComeBackAndATornLastRecordIsDropped) {
  const auto folder = fresh_folder("journal");
  const auto path = folder / "journal";
  {
    auto journal = JournalWriter::create(path, "identity-1");
    for (int64_t unit : {3, 0, 5}) journal.append(unit, payload(unit));
  }
  JournalScan scan = scan_journal(path, "identity-1", 6, "STAGING");
  ASSERT_EQ(scan.entries.size(), 3u);
  EXPECT_FALSE(scan.torn_tail);
  EXPECT_EQ(scan.valid_length, std::filesystem::file_size(path));
  for (const auto& entry : scan.entries) EXPECT_EQ(read_journal_payload(path, entry), payload(entry.unit));
  EXPECT_EQ(scan.entries[0].unit, 3);
  EXPECT_EQ(scan.entries[2].unit, 5);
  // A journal gone before its payloads are read is an error, even for an empty payload.
  EXPECT_NE(error_of([&] { read_journal_payload(folder / "gone", {1, 0, 0}); }).find("cannot read the journal"),
            std::string::npos);

  // A kill during the last append leaves part of a record: every cut is dropped, never an error.
  const std::string whole = read_text(path);
  const uint64_t before_last = scan.valid_length - (16 + payload(5).size() + 4);
  for (uint64_t cut : {before_last + 1, before_last + 15, before_last + 16, before_last + 100, scan.valid_length - 1}) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << whole.substr(0, cut);
    const JournalScan torn = scan_journal(path, "identity-1", 6, "STAGING");
    EXPECT_EQ(torn.entries.size(), 2u) << cut;
    EXPECT_TRUE(torn.torn_tail) << cut;
    EXPECT_EQ(torn.valid_length, before_last) << cut;
  }
  // Reopening cuts the torn record and appends after the last whole one.
  {
    auto journal = JournalWriter::reopen(path, before_last);
    journal.append(4, payload(4));
  }
  scan = scan_journal(path, "identity-1", 6, "STAGING");
  ASSERT_EQ(scan.entries.size(), 3u);
  EXPECT_FALSE(scan.torn_tail);
  EXPECT_EQ(scan.entries[2].unit, 4);
  EXPECT_EQ(read_journal_payload(path, scan.entries[2]), payload(4));
  std::filesystem::remove_all(folder);
}

TEST(Journal, DamagedOrForeignJournalsAreRefusedWithTheFix) {
  const auto folder = fresh_folder("journal-bad");
  const auto path = folder / "journal";
  {
    auto journal = JournalWriter::create(path, "identity-1");
    for (int64_t unit : {0, 1, 2}) journal.append(unit, payload(unit));
  }
  const std::string whole = read_text(path);
  EXPECT_NE(error_of([&] { scan_journal(path, "identity-2", 3, "STAGING"); }).find("belongs to another run"), std::string::npos);
  EXPECT_NE(error_of([&] { scan_journal(path, "identity-2", 3, "STAGING"); }).find("delete STAGING to start over"),
            std::string::npos);
  // A unit the run does not have.
  EXPECT_NE(error_of([&] { scan_journal(path, "identity-1", 2, "STAGING"); }).find("damaged"), std::string::npos);
  const auto damaged_at = [&](size_t byte) {
    std::string bytes = whole;
    bytes[byte] = static_cast<char>(bytes[byte] ^ 0x40);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    return error_of([&] { scan_journal(path, "identity-1", 3, "STAGING"); });
  };
  const size_t header = journal_header("identity-1").size();
  EXPECT_NE(damaged_at(9).find("has format version 16385, this hdiff writes 1"), std::string::npos) << damaged_at(9);
  for (size_t byte : {size_t{0}, size_t{22}, header + 20, header + 16 + 100 + 2})
    EXPECT_NE(damaged_at(byte).find("damaged at byte"), std::string::npos) << byte << ": " << damaged_at(byte);
  EXPECT_EQ(damaged_at(header + 20).find("the journal " + path.string() + " is damaged"), 0u) << damaged_at(header + 20);
  // A unit recorded twice is damage, not a torn end.
  std::string twice = whole + whole.substr(header, 16 + payload(0).size() + 4) + whole.substr(header, 16 + payload(0).size() + 4);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << twice;
  EXPECT_NE(error_of([&] { scan_journal(path, "identity-1", 3, "STAGING"); }).find("recorded twice"), std::string::npos);
  std::filesystem::remove_all(folder);
}

TEST(UnitRunner, OneRankRunsEveryUnitOnceAndResumesFromTheJournal) {
  const auto folder = fresh_folder("runner");
  UnitRunPlan plan{"test", folder / "out", "identity", std::vector<double>(7, 1.0), false};
  std::vector<int64_t> computed, received;
  const auto run = [&](int64_t unit) {
    computed.push_back(unit);
    return payload(unit);
  };
  const auto collect = [&](int64_t unit, const std::string& bytes) {
    EXPECT_EQ(bytes, payload(unit));
    received.push_back(unit);
  };
  // A run that "dies" after three units: the journal keeps them.
  const auto staging = staging_folder(plan.out);
  EXPECT_EQ(staging, folder / ".out.unfinished");
  {
    auto journal = JournalWriter::create((std::filesystem::create_directories(staging), staging / "journal"), "identity");
    for (int64_t unit : {0, 1, 4}) journal.append(unit, payload(unit));
  }
  EXPECT_NE(error_of([&] { run_units(plan, run, collect); }).find("has an unfinished run (3 of 7 units done)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { run_units(plan, run, collect); }).find("add --resume"), std::string::npos);
  EXPECT_TRUE(computed.empty());
  plan.resume = true;
  const UnitRunOutcome outcome = run_units(plan, run, collect);
  EXPECT_FALSE(outcome.interrupted);
  EXPECT_EQ(outcome.units_from_journal, 3);
  EXPECT_EQ(computed, (std::vector<int64_t>{2, 3, 5, 6}));
  EXPECT_EQ(received, (std::vector<int64_t>{0, 1, 4, 2, 3, 5, 6}));
  finish_units(plan);
  EXPECT_FALSE(std::filesystem::exists(staging));
  // --resume with nothing unfinished starts afresh.
  computed.clear();
  received.clear();
  run_units(plan, run, collect);
  EXPECT_EQ(computed.size(), 7u);
  std::filesystem::remove_all(folder);
}

// Units side by side, one per thread: each unit is computed and delivered once,
// delivery happens on the calling thread alone (the journal and MPI are not
// thread-safe), a unit's own parallel loop still runs (on its thread), and the
// error of the lowest failing unit is the one reported.
TEST(UnitRunner, UnitsSideBySideRunOnceAndDeliverOnTheCallingThread) {
  const auto folder = fresh_folder("side_by_side");
  const int threads_before = thread_count();
  set_thread_count(3);
  UnitRunPlan plan{"test", folder / "out", "identity", std::vector<double>(23, 1.0), false, true};
  std::mutex mutex;
  std::vector<int64_t> computed, received;
  const auto caller = std::this_thread::get_id();
  bool delivered_elsewhere = false;
  const auto run = [&](int64_t unit) {
    // The unit's own parallel loop: inside a side-by-side unit it runs on one thread.
    std::vector<int64_t> squares(static_cast<size_t>(50 + unit));
    parallel_for(static_cast<int64_t>(squares.size()), [&](int64_t i) { squares[static_cast<size_t>(i)] = i * i; });
    for (size_t i = 0; i < squares.size(); ++i) EXPECT_EQ(squares[i], static_cast<int64_t>(i * i));
    std::lock_guard lock(mutex);
    computed.push_back(unit);
    return payload(unit);
  };
  const auto collect = [&](int64_t unit, const std::string& bytes) {
    EXPECT_EQ(bytes, payload(unit));
    delivered_elsewhere |= std::this_thread::get_id() != caller;
    received.push_back(unit);
  };
  const UnitRunOutcome outcome = run_units(plan, run, collect);
  EXPECT_FALSE(outcome.interrupted);
  EXPECT_EQ(outcome.units_computed_here, 23);
  EXPECT_FALSE(delivered_elsewhere);
  std::sort(computed.begin(), computed.end());
  std::vector<int64_t> every(23);
  std::iota(every.begin(), every.end(), 0);
  EXPECT_EQ(computed, every);
  std::vector<int64_t> sorted_received = received;
  std::sort(sorted_received.begin(), sorted_received.end());
  EXPECT_EQ(sorted_received, every);
  // The journal holds every unit, as delivered.
  const auto scan = scan_journal(staging_folder(plan.out) / "journal", "identity", 23, "");
  ASSERT_EQ(scan.entries.size(), 23u);
  for (size_t i = 0; i < scan.entries.size(); ++i) EXPECT_EQ(scan.entries[i].unit, received[i]);
  finish_units(plan);

  // Units 17 and 5 fail: unit 5's error is the one reported.
  const auto failing = [&](int64_t unit) {
    if (unit == 17 || unit == 5) fail("unit {} failed", unit);
    return payload(unit);
  };
  EXPECT_EQ(error_of([&] { run_units(plan, failing, [](int64_t, const std::string&) {}); }), "unit 5 failed");
  set_thread_count(threads_before);
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace hdiff
