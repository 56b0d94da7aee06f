// The CLI subcommands as functions (so tests can call them); each returns the exit code.
#pragma once

#include <string>

#include "pipeline/plan.hpp"
#include "pipeline/sample_data.hpp"

namespace qinling::pipeline {

struct CommonFlags {
  bool quiet = false, verbose = false;
};

int command_run(const std::string& job_file, const RunOptions& options, const CommonFlags& flags);
int command_validate(const std::string& job_file, const RunOptions& options, const CommonFlags& flags);
int command_steps(const std::string& only_kind);
int command_sample_data(const SampleDataOptions& options, const CommonFlags& flags);

}  // namespace qinling::pipeline
