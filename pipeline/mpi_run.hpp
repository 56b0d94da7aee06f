// `qinling run` under mpirun/srun: rank 0 runs the whole command (job store, lock, reports,
// messages); the other ranks plan the same job and compute their share of the raster pass.
#pragma once

#include <set>
#include <string>

#include "pipeline/commands.hpp"
#include "pipeline/plan.hpp"

namespace qinling::pipeline {

// Same as command_run when there is one rank. With several, every run computes (the job
// store's skip and step cache are decided by rank 0 alone, so they are off), and ranks other
// than 0 print nothing: errors reach rank 0 through the collective checks of the runner.
int command_run_ranked(const std::string& job_file, const RunOptions& options, CommonFlags flags,
                       RecordOptions record);

// The product steps every rank runs under MPI (the others only on rank 0): the distributed ones
// (Step::distributed) and every product they read, directly or not. Empty with one rank.
std::set<std::string> products_on_every_rank(const Plan& plan);

}  // namespace qinling::pipeline
