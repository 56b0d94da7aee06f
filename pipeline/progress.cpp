#include "pipeline/progress.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>

#include "models/errors.hpp"

namespace qinling::pipeline {

namespace {
std::atomic<int> g_interrupts{0};
void on_sigint(int) {
  if (g_interrupts.fetch_add(1) >= 1) _exit(130);
}
}  // namespace

void Progress::install_interrupt_handler() { std::signal(SIGINT, on_sigint); }
bool Progress::cancel_requested() { return g_interrupts.load() > 0; }

Progress::Mode Progress::detect(bool quiet) {
  if (quiet) return Mode::quiet;
  return ::isatty(STDERR_FILENO) ? Mode::bar : Mode::log;
}

void Progress::phase(const std::string& label) {
  std::lock_guard lock(mutex_);
  label_ = label;
  started_ = last_ = std::chrono::steady_clock::now();
  last_percent_ = -1;
  if (mode_ == Mode::log) spdlog::debug("{}: started", label_);
}

void Progress::update(double fraction) {
  if (cancel_requested()) throw Cancelled();
  if (mode_ == Mode::quiet) return;
  std::lock_guard lock(mutex_);
  const int percent = int(fraction * 100.0 + 1e-9);
  if (percent == last_percent_) return;
  const auto now = std::chrono::steady_clock::now();
  if (mode_ == Mode::bar) {
    const int width = 30, filled = percent * width / 100;
    std::fprintf(stderr, "\r%-36.36s [%s%s] %3d%%", label_.c_str(), std::string(filled, '#').c_str(),
                 std::string(width - filled, ' ').c_str(), percent);
    std::fflush(stderr);
  } else if (now - last_ > std::chrono::seconds(5)) {
    spdlog::info("{}: {}%", label_, percent);
    last_ = now;
  }
  last_percent_ = percent;
}

void Progress::done() {
  std::lock_guard lock(mutex_);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  timings_.push_back({label_, secs});
  if (mode_ == Mode::quiet) return;
  if (mode_ == Mode::bar) std::fprintf(stderr, "\r%-36.36s done in %.1f s%-30s\n", label_.c_str(), secs, "");
  else spdlog::info("{}: done in {:.1f} s", label_, secs);
}

std::vector<Progress::PhaseTime> Progress::timings() {
  std::lock_guard lock(mutex_);
  return timings_;
}

}  // namespace qinling::pipeline
