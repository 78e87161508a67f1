#include "cluster/unit_job.h"

#include <cstdio>
#include <cstdlib>

#include "cluster/cluster.h"
#include "common/error.h"
#include "common/progress.h"

namespace hdiff {

void open_unit_output(std::optional<OutputDir>& output, const std::filesystem::path& out, bool resume, bool force,
                      const std::string& command) {
  if (!cluster::is_root()) return;
  check_something_to_resume(out, resume, force);
  output.emplace(out, existing_policy(force), command);
}

UnitRunOutcome run_unit_job(const UnitJob& job, std::optional<OutputDir>& out) {
  HDIFF_CHECK(job.progress.empty() || job.progress.size() == job.plan.costs.size());
  HDIFF_CHECK(!cluster::is_root() || out.has_value());
  // Under a launcher a signal ends the rank as usual (the launcher ends the job),
  // so a half-done unit can never be recorded.
  if (job.commit_finished_on_ctrl_c && cluster::size() == 1) install_interrupt_handler();
  UnitRunOutcome outcome;
  {
    std::optional<ProgressBar> progress;
    if (cluster::is_root() && !job.progress.empty()) {
      int64_t total = 0;
      for (int64_t share : job.progress) total += share;
      progress.emplace(total, job.progress_label);
    }
    outcome = run_units(job.plan, job.run_unit, [&](int64_t index, const std::string& bytes) {
      job.take_result(index, bytes);
      if (progress) progress->advance(job.progress[static_cast<size_t>(index)]);
    });
  }
  if (!cluster::is_root()) return outcome;
  job.write(*out, outcome);
  out->commit();
  // The journal goes only once the outputs are committed; an interrupted run keeps it for --resume.
  if (!outcome.interrupted) finish_units(job.plan);
  if (job.report) job.report(*out, outcome);
  if (outcome.interrupted) {
    std::fflush(stdout);
    out.reset();  // std::exit skips destructors: the staging folder and the lock go now
    std::exit(130);
  }
  return outcome;
}

}  // namespace hdiff
