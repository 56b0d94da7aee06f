// Per-step caching: each step's key (its options, the identity of everything it reads, the files
// it references, the grid and the program version) and the pruning of a plan down to the steps
// whose key changed or whose outputs no longer verify, before run_plan.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/plan.hpp"

namespace qinling::pipeline {

struct CachedOutput {
  std::string path, sha256;
  std::int64_t size = 0;
};

// What an earlier run left of a step: outputs that still verify.
struct StepCacheHit {
  std::int64_t run_id = 0;
  std::vector<CachedOutput> outputs;
};

// Finds an earlier result of step `id` with `key` whose outputs are exactly `paths` and verify.
using StepCacheLookup = std::function<std::optional<StepCacheHit>(
    const std::string& id, const std::string& key, const std::vector<std::string>& paths)>;

struct StepDecision {
  std::string id, kind, key;
  // computed: runs in this run; cached: its outputs are reused; unused: nothing needs it.
  std::string state;
  std::int64_t from_run = 0;              // cached: the run that computed it
  std::vector<std::string> outputs;       // the job's outputs of this step (absolute paths)
  std::vector<CachedOutput> cached;       // cached: the verified earlier outputs
  bool rewrites_outputs = false;          // computed and its outputs are written again
};

struct CacheDecisions {
  std::vector<StepDecision> steps;           // every step of the job, in dependency order
  std::vector<PlannedOutput> all_outputs;    // the job's outputs before pruning
  std::vector<std::string> ids(const std::string& state) const;
  bool nothing_to_compute() const { return ids("computed").empty(); }
};

// Hex SHA-256 key of every step, in dependency order of `plan`.
std::map<std::string, std::string> step_keys(const Plan& plan);

// Files a step reads on its own (sensor profiles, colour ramps, rules files, station tables): every
// existing file an option value names, resolved the ways the loaders resolve names.
std::vector<std::string> referenced_files(const Plan& plan, const StepSpec& spec);

// "path size mtime" of a file ("path missing" when it does not exist).
std::string file_identity(const std::string& path);

// Hex SHA-256 of a file, or of a folder (tile sets): its files' relative paths, sizes and hashes.
std::string content_checksum(const std::string& path);

// Decides which steps must run and prunes `plan` so run_plan computes only those: outputs of
// cached steps are dropped, a cached pixel layer a recomputed step reads is read back from its
// output file. With `force` every step that an output needs is computed.
CacheDecisions apply_step_cache(Plan& plan, const StepCacheLookup& lookup, bool force);

}  // namespace qinling::pipeline
