// The run report written beside a run's outputs: JSON for scripts and HTML for people, with the
// steps (computed or reused), timings, warnings and every output with a small PNG thumbnail.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/job_store.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/step_cache.hpp"

namespace qinling::pipeline {

struct RunSummary {
  std::string job_name, job_file, out_dir, state;  // state: succeeded, unchanged
  std::int64_t run_id = 0, started = 0;              // Unix seconds
  double seconds = 0;
  std::size_t windows = 0;                           // block windows of raster work done
  const CacheDecisions* decisions = nullptr;         // null: an unchanged run (nothing decided)
  std::vector<OutputRow> outputs;                    // with checksums
  std::vector<Progress::PhaseTime> phases;
  // Pixel pass thread time (this process): reading inputs, and per computed pixel step.
  double pass_read_seconds = 0;
  std::map<std::string, double> step_cpu_seconds;
  std::vector<std::string> warnings;
  std::string collection;  // the STAC Collection, when written
};

// "<out_dir>/<job>.report.html" (the JSON is the same name with .json; thumbnails go to
// "<out_dir>/<job>.report/").
std::string report_path(const std::string& out_dir, const std::string& job_name);

// Writes the JSON, the thumbnails (raster outputs, through GDAL) and the HTML; returns the HTML's path.
std::string write_run_report(const RunSummary& summary);

// Collects warning and error log lines while it lives (for the report).
class WarningCollector {
 public:
  WarningCollector();
  ~WarningCollector();
  WarningCollector(const WarningCollector&) = delete;
  WarningCollector& operator=(const WarningCollector&) = delete;
  std::vector<std::string> lines() const;

 private:
  std::shared_ptr<void> sink_;
};

}  // namespace qinling::pipeline
