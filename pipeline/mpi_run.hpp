// `qinling run` under mpirun/srun: rank 0 runs the whole command (job store, lock, reports,
// messages); the other ranks plan the same job and compute their share of the raster pass.
#pragma once

#include <string>

#include "pipeline/commands.hpp"

namespace qinling::pipeline {

// Same as command_run when there is one rank. With several, every run computes (the job
// store's skip and step cache are decided by rank 0 alone, so they are off), and ranks other
// than 0 print nothing: errors reach rank 0 through the collective checks of the runner.
int command_run_ranked(const std::string& job_file, const RunOptions& options, CommonFlags flags,
                       RecordOptions record);

}  // namespace qinling::pipeline
