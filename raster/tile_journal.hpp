// Resuming an interrupted tiling run: every tile drawn is appended (with its pixel hash) to a
// journal beside the outputs; a re-run with the same render settings takes tiles whose pixels are
// unchanged from it instead of drawing them again. Removed when the run completes. Appends are
// made durable (fdatasync) in batches, so the journal also survives a power loss up to its last batch.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

namespace qinling::raster {

class TileJournal {
 public:
  // Opens `path`: keeps the records of an earlier run whose `settings` were the same (up to the last
  // complete record), else starts it afresh. Another live run holding the journal (flock) leaves
  // this one without journal: nothing is recovered or recorded.
  TileJournal(std::string path, const std::string& settings);
  ~TileJournal();
  TileJournal(const TileJournal&) = delete;
  TileJournal& operator=(const TileJournal&) = delete;

  // The bytes an earlier run drew for tile `key` of `set` from pixels with this hash. Thread-safe.
  std::optional<std::string> find(const std::string& set, std::uint64_t key, std::uint64_t hash) const;
  // Appends a drawn tile (one thread at a time); every kSyncRecords records or kSyncBytes bytes
  // the appends are flushed to disk (fdatasync), not per tile: a crash loses at most one batch.
  void record(const std::string& set, std::uint64_t key, std::uint64_t hash, const std::string& data);
  // Flushes the records appended since the last batch (also done on destruction).
  void sync();
  // The run is complete: the journal is deleted.
  void remove();
  long long recovered_records() const { return records_; }
  long long syncs() const { return syncs_; }

  static constexpr int kSyncRecords = 256;
  static constexpr std::uint64_t kSyncBytes = 16u << 20;

 private:
  struct Entry {
    std::uint64_t hash, offset;
    std::uint32_t length;
  };
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  long long records_ = 0;
  int unsynced_records_ = 0;
  std::uint64_t unsynced_bytes_ = 0;
  long long syncs_ = 0;
  std::map<std::string, std::unordered_map<std::uint64_t, Entry>> entries_;
};

}  // namespace qinling::raster
