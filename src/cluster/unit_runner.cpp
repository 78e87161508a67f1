#include "cluster/unit_runner.h"

#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <optional>

#include "cluster/cluster.h"
#include "cluster/journal.h"
#include "common/error.h"
#include "common/output_names.h"
#include "common/parallel.h"
#include "common/progress.h"

namespace hdiff {
namespace fs = std::filesystem;

namespace {

// The list of completed units, as rank 0 sends it to the others.
std::string encode_units(const std::vector<int64_t>& units) {
  std::string bytes(units.size() * sizeof(int64_t), '\0');
  if (!units.empty()) std::memcpy(bytes.data(), units.data(), bytes.size());
  return bytes;
}

std::vector<int64_t> decode_units(const std::string& bytes) {
  std::vector<int64_t> units(bytes.size() / sizeof(int64_t));
  if (!units.empty()) std::memcpy(units.data(), bytes.data(), units.size() * sizeof(int64_t));
  return units;
}

fs::path normalised(const fs::path& out) { return without_trailing_separator(out); }

}  // namespace

fs::path staging_folder(const fs::path& out) { return hidden_sibling(out, "unfinished"); }

void check_something_to_resume(const fs::path& out, bool resume, bool force) {
  if (!resume || force || fs::exists(staging_folder(out))) return;
  std::error_code error;
  if (fs::is_directory(out, error) && !fs::is_empty(out, error) && !error)
    fail("nothing to resume: {} holds a finished run, and no unfinished one ({}); give another --out, or add --force "
         "to run again", normalised(out).string(), staging_folder(out).string());
}

UnitRunOutcome run_units(const UnitRunPlan& plan, const std::function<std::string(int64_t)>& run_unit,
                         const std::function<void(int64_t, const std::string&)>& on_result) {
  const auto units = static_cast<int64_t>(plan.costs.size());
  const fs::path folder = staging_folder(plan.out);
  const fs::path journal_path = folder / "journal";
  const std::string hint = folder.string();
  UnitRunOutcome outcome;
  JournalScan scan;
  std::optional<JournalWriter> journal;
  std::string done_bytes;
  cluster::agree([&] {
    if (!cluster::is_root()) return;
    const bool unfinished = fs::exists(journal_path);
    if (unfinished && !plan.resume) {
      // Only the count is needed for the message; a damaged journal still gets the advice.
      std::string count;
      try {
        count = fmt::format(" ({} of {} units done)", scan_journal(journal_path, plan.identity, units, hint).entries.size(), units);
      } catch (const Error&) {
      }
      fail("{} has an unfinished run{} in {}; add --resume to continue it, or delete {} to start over",
           normalised(plan.out).string(), count, hint, hint);
    }
    if (unfinished) {
      scan = scan_journal(journal_path, plan.identity, units, hint);
      journal.emplace(JournalWriter::reopen(journal_path, scan.valid_length));
    } else {
      std::error_code error;
      fs::create_directories(folder, error);
      if (error) fail_file("cannot create the staging folder {}: {}", hint, error.message());
      journal.emplace(JournalWriter::create(journal_path, plan.identity));
    }
    std::vector<int64_t> done;
    for (const auto& entry : scan.entries) done.push_back(entry.unit);
    done_bytes = encode_units(done);
  });
  cluster::broadcast(done_bytes);
  std::vector<bool> done(static_cast<size_t>(units), false);
  for (int64_t unit : decode_units(done_bytes)) done[static_cast<size_t>(unit)] = true;
  outcome.units_from_journal = static_cast<int64_t>(decode_units(done_bytes).size());
  if (cluster::is_root())
    for (const auto& entry : scan.entries) {
      const std::string payload = read_journal_payload(journal_path, entry);
      // A record that passes its CRC but holds what no unit can produce (forged
      // or damaged beyond what the CRC sees) is refused by the decoder.
      try {
        on_result(entry.unit, payload);
      } catch (const FileError&) {
        throw;
      } catch (const Error& e) {
        fail("the journal {} is damaged: the record of unit {}: {}; delete {} to start over", journal_path.string(),
             entry.unit, e.what(), hint);
      }
    }

  // Ownership of what is left, the same on every rank.
  std::vector<int64_t> remaining;
  std::vector<double> remaining_costs;
  for (int64_t unit = 0; unit < units; ++unit)
    if (!done[static_cast<size_t>(unit)]) {
      remaining.push_back(unit);
      remaining_costs.push_back(plan.costs[static_cast<size_t>(unit)]);
    }
  const std::vector<int> owner = cluster::assign_units(remaining_costs, cluster::size());
  int64_t expected_from_others = 0;
  for (int rank : owner) expected_from_others += rank != cluster::rank() && cluster::is_root();

  const bool alone = cluster::size() == 1;
  const auto record = [&](int64_t unit, const std::string& bytes) {
    journal->append(unit, bytes);
    on_result(unit, bytes);
  };
  // A record is in the operating system's hands once written, so it survives a
  // killed process or rank; against a power loss the journal is forced to disk
  // at most once a second (a sync per unit cost 1 s of the 4 s default run), so
  // such a loss costs at most the last second's units, which are then redone.
  auto last_sync = std::chrono::steady_clock::now();
  const auto sync_now_and_then = [&] {
    if (std::chrono::steady_clock::now() - last_sync < std::chrono::seconds(1)) return;
    journal->sync();
    last_sync = std::chrono::steady_clock::now();
  };
  // Takes what the other ranks sent (waiting for the first one when `wait`).
  const auto drain = [&](bool wait) {
    bool received = false;
    while (expected_from_others > 0) {
      auto message = cluster::receive_at_root(wait && !received);
      if (!message) break;
      received = true;
      if (message->unit < 0 || message->unit >= units || done[static_cast<size_t>(message->unit)])
        fail("{}: rank sent unit {} which is not outstanding (internal error)", plan.command, message->unit);
      done[static_cast<size_t>(message->unit)] = true;
      --expected_from_others;
      record(message->unit, message->bytes);
    }
    sync_now_and_then();
  };
  // A finished unit goes to the journal and the command (rank 0) or to rank 0.
  const auto deliver = [&](int64_t unit, std::string bytes) {
    ++outcome.units_computed_here;
    if (cluster::is_root()) {
      done[static_cast<size_t>(unit)] = true;
      record(unit, bytes);
      drain(false);
    } else {
      cluster::send_to_root(unit, std::move(bytes));
    }
  };
  std::vector<int64_t> mine;
  for (size_t i = 0; i < remaining.size(); ++i)
    if (owner[i] == cluster::rank()) mine.push_back(remaining[i]);
  // Ctrl-C stops a single process between units (under a launcher the launcher
  // ends the job); a unit it cut short may be incomplete and is not recorded.
  const auto run = [&](int64_t k) -> std::optional<std::string> {
    if (alone && interrupted()) return std::nullopt;
    std::string bytes = run_unit(mine[static_cast<size_t>(k)]);
    if (alone && interrupted()) return std::nullopt;
    return bytes;
  };
  const auto pass_on = [&](int64_t k, std::optional<std::string> bytes) {
    if (bytes) deliver(mine[static_cast<size_t>(k)], std::move(*bytes));
  };
  const auto count = static_cast<int64_t>(mine.size());
  if (plan.concurrent && thread_count() > 1 && count > 1) {
    // One unit per thread; results are passed on by the main thread alone, so
    // the journal, the command's fold and MPI (initialised for that thread)
    // never see another.
    parallel_for_consuming(count, run, pass_on);
  } else {
    for (int64_t k = 0; k < count && !(alone && interrupted()); ++k) pass_on(k, run(k));
  }
  if (cluster::is_root()) {
    while (expected_from_others > 0) drain(true);
    journal->sync();
  } else {
    cluster::flush_sends();
  }
  if (alone)
    for (bool unit_done : done) outcome.interrupted |= !unit_done;
  return outcome;
}

void finish_units(const UnitRunPlan& plan) {
  if (!cluster::is_root()) return;
  std::error_code ignored;
  fs::remove_all(staging_folder(plan.out), ignored);
}

}  // namespace hdiff
