#include "common/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
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

namespace {

// HDIFF_PROGRESS_SECONDS, or 30.
double progress_line_seconds() {
  const char* text = std::getenv("HDIFF_PROGRESS_SECONDS");
  if (!text || !*text) return 30;
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  return *end == '\0' && value >= 0 && std::isfinite(value) ? value : 30;
}

}  // namespace

ProgressBar::ProgressBar(int64_t total, std::string label)
    : ProgressBar(total, std::move(label), stderr, isatty(STDERR_FILENO) != 0) {}

ProgressBar::ProgressBar(int64_t total, std::string label, std::FILE* stream, bool terminal)
    : total_(total > 0 ? total : 1),
      label_(std::move(label)),
      stream_(stream),
      terminal_(terminal),
      line_seconds_(progress_line_seconds()),
      quiet_seconds_(std::min(2.0, line_seconds_)),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::advance(int64_t units) {
  const int64_t done = done_.fetch_add(units) + units;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (finished_) return;
  if (terminal_) {
    if (now - last_draw_ < std::chrono::milliseconds(100) && done < total_) return;
    last_draw_ = now;
    draw(done);
    return;
  }
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double since_line = std::chrono::duration<double>(now - last_draw_).count();
  const int64_t tenth = std::min<int64_t>(10, 10 * done / total_);
  if (elapsed < quiet_seconds_) return;
  if (since_line < line_seconds_ && tenth <= last_line_tenth_) return;
  last_draw_ = now;
  last_line_tenth_ = tenth;
  print_line(done);
}

void ProgressBar::print_line(int64_t done) {
  const double fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (done >= total_) {
    fmt::print(stream_, "{}: 100% ({}/{}), done in {:.0f} s\n", label_, done, total_, elapsed);
  } else {
    const double remaining = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0;
    fmt::print(stream_, "{}: {:.0f}% ({}/{}), {:.0f} s elapsed, ~{:.0f} s left\n", label_, 100 * fraction, done,
               total_, elapsed, remaining);
  }
  std::fflush(stream_);
  last_line_done_ = done;
}

void ProgressBar::draw(int64_t done) {
  const double fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
  const int width = 30;
  const int filled = static_cast<int>(fraction * width);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double remaining = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0;
  fmt::print(stream_, "\r{} [{}{}] {:3.0f}%  {:.0f}s elapsed, ~{:.0f}s left   ", label_, std::string(filled, '#'),
             std::string(width - filled, '.'), 100 * fraction, elapsed, remaining);
  std::fflush(stream_);
}

void ProgressBar::finish() {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  finished_ = true;
  if (terminal_) {
    fmt::print(stream_, "\r{}\r", std::string(label_.size() + 70, ' '));
    std::fflush(stream_);
  } else if (last_line_done_ >= 0 && last_line_done_ != done_.load()) {
    print_line(done_.load());  // the count at the end (all, or where Ctrl-C stopped it)
  }
}

}  // namespace hdiff
