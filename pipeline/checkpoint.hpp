// Checkpointed raster pass: the staging rasters of a run's raster targets and a journal of the
// windows already written into them, so a run killed mid-step restarts from completed windows.
#pragma once

#include <array>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "raster/grid.hpp"
#include "raster/writer.hpp"

namespace qinling::pipeline {

// A window as it is journaled: x, y, width, height.
using WindowKey = std::array<int, 4>;

// The folder `<out_dir>/.qinling-checkpoint/<key>/` holds `key` (the run's identity: job, inputs,
// program version, grid, targets), one raw staging file per target and `journal.<rank>` files of
// finished windows. A window is journaled only after its values were synced to every staging
// file, so what the journal lists is on disk.
class Checkpoint {
 public:
  struct Target {
    std::string id;     // step id (names the staging file)
    std::string label;  // the final output path, for error messages
  };

  // Rank 0 only: keeps the folder when its key matches and every staging file is intact,
  // otherwise starts it afresh; removes stale checkpoints of the same job with other keys.
  static void prepare(const std::string& out_dir, const std::string& key, const std::string& job_name,
                      const raster::Grid& grid, const std::vector<Target>& targets);
  // Every rank, after prepare: opens the staging files for writing.
  Checkpoint(const std::string& out_dir, const std::string& key, const raster::Grid& grid,
             const std::vector<Target>& targets, int rank);
  ~Checkpoint();
  Checkpoint(const Checkpoint&) = delete;
  Checkpoint& operator=(const Checkpoint&) = delete;

  // Windows listed in any journal of the folder (whole lines only).
  std::set<WindowKey> completed() const;
  const raster::StagingRaster& staging(std::size_t target) const { return staging_[target]; }
  // Notes a window whose values are in every staging file; syncs and journals in batches
  // (every QINLING_CHECKPOINT_SYNC_MS, default 2000 ms) so that syncing stays cheap.
  void record(const raster::Window& w);
  // Syncs the staging files and journals every recorded window.
  void flush();
  // Deletes the folder (after the outputs were published).
  void remove() const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::vector<raster::StagingRaster> staging_;
  int journal_fd_ = -1;
  int rank_ = 0;
  std::vector<WindowKey> pending_;
  std::size_t journaled_ = 0;
  std::chrono::milliseconds interval_{2000};
  std::chrono::steady_clock::time_point last_sync_;
};

// The folder a checkpoint with `key` lives in.
std::string checkpoint_dir(const std::string& out_dir, const std::string& key);

}  // namespace qinling::pipeline
