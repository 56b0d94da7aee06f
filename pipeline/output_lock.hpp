// The advisory lock on an output folder: two runs writing the same folder never interleave; the
// second waits (up to a timeout) or fails naming the holder. The kernel drops it if we crash.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qinling::pipeline {

class OutputLock {
 public:
  // Locks `<folder>/.qinling.lock` (flock, exclusive), creating the folder as needed. When it is
  // held by another process, retries for `wait_seconds` (0: not at all), then throws
  // ProcessingError naming the folder and the holder (pid, run id, job).
  OutputLock(const std::string& folder, double wait_seconds);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

  // Writes who holds the lock into the lock file, for the message another run prints.
  void describe_holder(std::int64_t run_id, const std::string& job);
  const std::string& path() const { return path_; }

  // Removes what interrupted runs (SIGKILL, power loss) left in the folder and one level below:
  // temporaries named `*.partial-PID*`, `.*.staging-PID.tif`, `.qinling-work-PID`, `*.tiles-PID`
  // whose process is gone. Safe because we hold the lock: no live run writes here. The checkpoint
  // folder is not touched (it is how a killed run resumes). Returns the paths removed.
  std::vector<std::string> sweep_stale_temporaries() const;

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace qinling::pipeline
