// Progress reporting: a bar on a terminal, a log line every few seconds otherwise; checks for
// Ctrl-C so long loops can stop cleanly.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

namespace qinling::pipeline {

class Progress {
 public:
  enum class Mode { quiet, log, bar };
  explicit Progress(Mode mode) : mode_(mode) {}
  // Picks `bar` when stderr is a terminal, `log` otherwise (or `quiet`).
  static Mode detect(bool quiet);

  // Starts a phase ("ndvi.tif: writing COG") whose fractions are reported with update().
  void phase(const std::string& label);
  // fraction in [0,1] of the current phase; thread-safe; throws Cancelled after Ctrl-C.
  void update(double fraction);
  void done();

  // Every finished phase with its duration, in order (for the run report).
  struct PhaseTime {
    std::string label;
    double seconds = 0;
  };
  std::vector<PhaseTime> timings();

  // Installs a SIGINT handler that requests cancellation (first Ctrl-C) and exits (second).
  static void install_interrupt_handler();
  static bool cancel_requested();

 private:
  Mode mode_;
  std::mutex mutex_;
  std::string label_;
  std::chrono::steady_clock::time_point started_{}, last_{};
  int last_percent_ = -1;
  std::vector<PhaseTime> timings_;
};

}  // namespace qinling::pipeline
