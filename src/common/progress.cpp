#include "common/progress.h"

#include <unistd.h>

#include <csignal>
#include <cstdio>

#include <fmt/format.h>

namespace hdiff {
namespace {

volatile std::sig_atomic_t interrupt_flag = 0;

extern "C" void on_interrupt(int) {
  if (interrupt_flag) {
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
  }
  interrupt_flag = 1;
}

}  // namespace

void install_interrupt_handler() { std::signal(SIGINT, on_interrupt); }
bool interrupted() { return interrupt_flag != 0; }
void reset_interrupted() { interrupt_flag = 0; }

ProgressBar::ProgressBar(int64_t total, std::string label)
    : total_(total > 0 ? total : 1),
      label_(std::move(label)),
      enabled_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::advance(int64_t units) {
  const int64_t done = done_.fetch_add(units) + units;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (now - last_draw_ < std::chrono::milliseconds(100) && done < total_) return;
  last_draw_ = now;
  draw(done);
}

void ProgressBar::draw(int64_t done) {
  const double fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
  const int width = 30;
  const int filled = static_cast<int>(fraction * width);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double remaining = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0;
  fmt::print(stderr, "\r{} [{}{}] {:3.0f}%  {:.0f}s elapsed, ~{:.0f}s left   ", label_, std::string(filled, '#'),
             std::string(width - filled, '.'), 100 * fraction, elapsed, remaining);
  std::fflush(stderr);
}

void ProgressBar::finish() {
  std::lock_guard lock(mutex_);
  if (!enabled_ || finished_) return;
  finished_ = true;
  fmt::print(stderr, "\r{}\r", std::string(label_.size() + 70, ' '));
  std::fflush(stderr);
}

}  // namespace hdiff
