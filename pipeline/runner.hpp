// Executes a plan: one streamed pass over block windows (tbb::parallel_pipeline) computing every
// needed step, writing every output, then finishing outputs (COG) and moving them into place.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "pipeline/plan.hpp"
#include "pipeline/progress.hpp"

namespace qinling::pipeline {

struct OutputReport {
  std::string path, format, step_id;
  int width = 0, height = 0;
  std::uintmax_t bytes = 0;
};

struct RunReport {
  std::vector<OutputReport> outputs;
  std::size_t windows = 0;
  std::size_t windows_resumed = 0;   // taken from a checkpoint of a killed run
  std::size_t windows_computed = 0;  // computed by this run (all ranks together)
  double seconds = 0;
  // Thread time (summed over threads) in this process's share of the pixel pass: reading inputs,
  // and each computed pixel step. Products' wall times are Progress phases.
  double pass_read_seconds = 0;
  std::map<std::string, double> step_cpu_seconds;
};

RunReport run_plan(Plan& plan, const RunOptions& options, Progress& progress);

}  // namespace qinling::pipeline
