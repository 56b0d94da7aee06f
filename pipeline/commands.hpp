// The CLI subcommands as functions (so tests can call them); each returns the exit code.
#pragma once

#include <string>

#include "pipeline/plan.hpp"
#include "pipeline/run_record.hpp"
#include "pipeline/sample_data.hpp"

namespace qinling::pipeline {

struct CommonFlags {
  bool quiet = false, verbose = false;
};

// Records the run in the job store (see run_record.hpp) and skips it when nothing changed.
int command_run(const std::string& job_file, const RunOptions& options, const CommonFlags& flags,
                const RecordOptions& record = {});
int command_validate(const std::string& job_file, const RunOptions& options, const CommonFlags& flags);
int command_steps(const std::string& only_kind);
int command_sample_data(const SampleDataOptions& options, const CommonFlags& flags);

}  // namespace qinling::pipeline
