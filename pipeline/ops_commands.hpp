// The operations subcommands: submit, jobs, runs, status, logs, cancel, retry and worker, all
// working on the job store (pipeline/job_store.hpp). Each returns the exit code.
#pragma once

#include <cstdint>
#include <string>

namespace qinling::pipeline {

struct OpsFlags {
  std::string store;                 // --store (empty: QINLING_STORE, then the user's data folder)
  bool json = false;                 // machine-readable output
  std::string tz = "Asia/Shanghai";  // wall clock for --at, cron fields and printed times
};

struct SubmitOptions {
  std::string job_file, at, every, name;
};

struct WorkerOptions {
  bool once = false;  // run what is due now, then exit
  int concurrency = 1;
  int lease_seconds = 60;  // renewed every third of it; an expired lease lets another worker take over
  double poll_seconds = 2;
  std::string self_exe;  // the qinling binary that executes each run (default: /proc/self/exe)
};

int command_submit(const SubmitOptions& options, const OpsFlags& flags);
int command_jobs(const OpsFlags& flags);
int command_runs(const std::string& job, const OpsFlags& flags);
int command_status(std::int64_t run_id, const OpsFlags& flags);
int command_logs(std::int64_t run_id, bool follow, const OpsFlags& flags);
int command_cancel(std::int64_t run_id, const OpsFlags& flags);
int command_retry(std::int64_t run_id, const OpsFlags& flags);
// Prints where the run's report is (and with --json the report itself).
int command_report(std::int64_t run_id, const OpsFlags& flags);
int command_worker(const WorkerOptions& options, const OpsFlags& flags);

}  // namespace qinling::pipeline
