// Records a `qinling run` in the job store (run row, log lines, outputs with SHA-256), writes a
// STAC Item next to each raster output, and decides whether an unchanged run can be skipped.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/job_store.hpp"
#include "pipeline/plan.hpp"
#include "pipeline/runner.hpp"
#include "pipeline/step_cache.hpp"

namespace qinling::pipeline {

struct RecordOptions {
  std::string store;        // --store (empty: QINLING_STORE, then the user's data folder)
  bool force = false;       // recompute even when nothing changed
  std::int64_t run_id = 0;  // a run claimed by a worker (0: a new run of a plain `qinling run`)
  double wait_seconds = 0;  // --wait: how long to wait for another run's lock on the output folder
};

// The program version that goes into fingerprints and provenance.
const char* program_version();

// Hex SHA-256 of a file's bytes. Throws ProcessingError when it cannot be read.
std::string sha256_file(const std::string& path);
std::string sha256_text(const std::string& text);

// Hash of what determines a run's results: program version, job file content, output folder,
// each input file's path, size and modification time, and every step's key (which covers the
// files steps reference: sensor profiles, ramps, rules, station tables).
std::string run_fingerprint(const Plan& plan);

// A run that failed before it had a plan (a bad job file, a missing input, a refused setting):
// recorded as failed with its exit code and message. A worker's run (options.run_id) is finished;
// otherwise a run is added to the job named by the file's `job:` (the file name when it has none;
// an existing job's stored file is left as it was). Never throws: store problems are warned.
void record_planning_failure(const std::string& job_file, const RecordOptions& options, int exit_code,
                             const std::string& message);

class RunRecorder {
 public:
  // Never throws for store problems: warns and records nothing (a run must not fail for them).
  RunRecorder(const Plan& plan, const RecordOptions& options);
  ~RunRecorder();
  RunRecorder(const RunRecorder&) = delete;
  RunRecorder& operator=(const RunRecorder&) = delete;

  // The earlier run whose fingerprint matches and whose outputs all still verify, unless --force.
  std::optional<RunRow> unchanged_since();
  void skipped(const RunRow& earlier);
  // Finds an earlier result of a step whose outputs still verify (none without a store).
  StepCacheLookup step_lookup();
  // The per-step decisions of this run (before succeeded()); outputs of cached steps count as
  // this run's outputs too.
  void set_decisions(const CacheDecisions* decisions) { decisions_ = decisions; }
  // Checksums every output, writes STAC Items for raster outputs and records the success.
  void succeeded(const RunReport& report, const RunOptions& options);
  // The outputs of the run with checksums (valid after succeeded()), cached ones included.
  const std::vector<OutputRow>& outputs() const { return outputs_; }
  // Records where the run report went.
  void report_written(const std::string& path);
  std::int64_t started() const { return started_; }
  void failed(int exit_code, const std::string& message);
  std::int64_t run_id() const { return run_id_; }

 private:
  void guard(const char* what, const std::function<void()>& f);
  const Plan& plan_;
  RecordOptions options_;
  std::unique_ptr<JobStore> store_;
  std::int64_t job_id_ = 0, run_id_ = 0;
  std::int64_t started_ = 0;
  std::string fingerprint_;
  const CacheDecisions* decisions_ = nullptr;
  std::vector<OutputRow> outputs_;
  std::map<std::string, std::string> verified_;  // path → checksum computed in this process
  std::shared_ptr<void> sink_;  // the spdlog sink copying log lines into the store
};

}  // namespace qinling::pipeline
