#pragma once
// Progress reporting and Ctrl-C handling for long jobs.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace hdiff {

// A progress bar on stderr, drawn only when stderr is a terminal. Thread-safe.
class ProgressBar {
 public:
  // `total` units of work, `label` shown before the bar.
  ProgressBar(int64_t total, std::string label);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  // Records `units` more units done; redraws at most ten times a second.
  void advance(int64_t units = 1);
  // Clears the bar's line.
  void finish();

 private:
  void draw(int64_t done);
  int64_t total_;
  std::string label_;
  bool enabled_;
  std::atomic<int64_t> done_{0};
  std::mutex mutex_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
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
