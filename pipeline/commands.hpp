// The CLI subcommands as functions (so tests can call them); each returns the exit code.
#pragma once

#include <string>

#include "pipeline/plan.hpp"
#if __has_include("pipeline/sample_data.hpp")
#include "pipeline/sample_data.hpp"
#else
#include <cstdint>
#include <functional>
namespace qinling::pipeline {
struct SampleDataOptions { std::string dir; int size = 1000; std::uint64_t seed = 42; std::string compress = "DEFLATE"; int threads = 0; };
struct SampleDataResult { std::vector<std::string> files; };
SampleDataResult generate_sample_data(const SampleDataOptions& options, const std::function<void(double)>& progress);
}
#endif

namespace qinling::pipeline {

struct CommonFlags {
  bool quiet = false, verbose = false;
};

int command_run(const std::string& job_file, const RunOptions& options, const CommonFlags& flags);
int command_validate(const std::string& job_file, const RunOptions& options, const CommonFlags& flags);
int command_steps(const std::string& only_kind);
int command_sample_data(const SampleDataOptions& options, const CommonFlags& flags);

}  // namespace qinling::pipeline
