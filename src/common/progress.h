#pragma once
// Progress reporting and Ctrl-C handling for long jobs.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

namespace hdiff {

// Progress of a job on stderr. Thread-safe.
//
// On a terminal: a bar, redrawn at most ten times a second and cleared at the end.
// Elsewhere (a log file, a Slurm log, a pipe): plain lines
//   LABEL: 40% (3200/8000), 12 s elapsed, ~18 s left
// a line each time another tenth of the work is done and whenever
// HDIFF_PROGRESS_SECONDS (default 30) seconds passed without one, but none in the
// job's first 2 seconds (a job done by then prints nothing); and when a line was
// printed, a last one at the end. HDIFF_PROGRESS_SECONDS=0 prints a line at every
// step (tests); a value that is not a non-negative number is ignored.
class ProgressBar {
 public:
  // `total` units of work, `label` shown before the bar; writes to stderr.
  ProgressBar(int64_t total, std::string label);
  // The same on `stream`, drawn as on a terminal when `terminal` (for tests).
  ProgressBar(int64_t total, std::string label, std::FILE* stream, bool terminal);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  // Records `units` more units done.
  void advance(int64_t units = 1);
  // Clears the bar (terminal) or prints the last line (when lines were printed).
  void finish();

 private:
  void draw(int64_t done);
  void print_line(int64_t done);
  int64_t total_;
  std::string label_;
  std::FILE* stream_;
  bool terminal_;
  double line_seconds_;   // the longest gap between two plain lines
  double quiet_seconds_;  // no plain line before this
  std::atomic<int64_t> done_{0};
  std::mutex mutex_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  int64_t last_line_tenth_ = 0;  // tenths of the work done at the last plain line
  int64_t last_line_done_ = -1;  // units done at the last plain line; -1: none printed
  bool finished_ = false;
};

// Installs a SIGINT handler that only raises a flag, so that long loops can stop
// cleanly and keep what is finished. A second Ctrl-C kills at once.
void install_interrupt_handler();
// True once Ctrl-C was pressed.
bool interrupted();
// Clears the flag (for tests).
void reset_interrupted();

}  // namespace hdiff
