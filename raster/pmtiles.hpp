// PMTiles v3: Hilbert tile ids, a clustered, deduplicated single-file writer with gzip-compressed
// directories (leaf directories when the root would not fit in 16 KiB), and a reader.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "raster/mbtiles.hpp"

namespace qinling::raster {

// Σ 4^i for i < z plus the position of (x, y) along the level's Hilbert curve.
std::uint64_t pmtiles_tile_id(int z, std::uint32_t x, std::uint32_t y);

struct PmtilesEntry {
  std::uint64_t tile_id = 0, offset = 0;
  std::uint32_t length = 0, run_length = 1;  // run_length 0: the entry points at a leaf directory
};
// The directory encoding of the spec (varints, delta ids, offsets relative to the previous one).
std::string pmtiles_encode_directory(const std::vector<PmtilesEntry>& entries);
std::vector<PmtilesEntry> pmtiles_decode_directory(const std::string& bytes);

class PmtilesReader;

// Collects tiles in any order (tile bytes go to a side file), then `commit` writes the archive
// sorted by tile id under a temporary name and renames it into place. With `previous` (an archive
// of the last run), kept tiles are copied from it; the archive is the same as if all were put.
class PmtilesWriter final : public TileSink {
 public:
  explicit PmtilesWriter(const std::string& path, const std::string& previous = {});
  ~PmtilesWriter() override;
  PmtilesWriter(const PmtilesWriter&) = delete;
  PmtilesWriter& operator=(const PmtilesWriter&) = delete;

  void put(int z, int x, int y, const std::string& data) override;
  bool holds(int z, int x, int y) override;
  void keep(int z, int x, int y) override;
  void commit(const TilesetInfo& info);

 private:
  std::unique_ptr<PmtilesReader> previous_;
  std::string held_;  // the previous tile found by the last holds()
  struct Pending {
    std::uint64_t tile_id, offset;  // offset in the side file
    std::uint32_t length;
  };
  std::string path_, data_tmp_, tmp_;
  std::fstream data_;
  std::uint64_t data_size_ = 0;
  std::vector<Pending> pending_;
  std::unordered_map<std::string, std::uint64_t> seen_;  // hash+size key → side-file offset
  bool committed_ = false;
};

// Thread-safe reader for the tile server.
class PmtilesReader {
 public:
  explicit PmtilesReader(const std::string& path);
  std::optional<std::string> get(int z, int x, int y);
  int min_zoom() const { return min_zoom_; }
  int max_zoom() const { return max_zoom_; }
  BBox lonlat() const { return lonlat_; }
  TileFormat format() const { return format_; }
  const std::string& metadata_json() const { return metadata_; }
  // `qinling_render` of the metadata (tile_manifest.hpp), empty when absent.
  std::string render_token() const;

 private:
  std::string read(std::uint64_t offset, std::uint64_t length);
  std::string path_;
  std::mutex mutex_;
  std::ifstream file_;
  std::uint64_t leaf_offset_ = 0, data_offset_ = 0;
  std::vector<PmtilesEntry> root_;
  std::map<std::uint64_t, std::vector<PmtilesEntry>> leaves_;
  int min_zoom_ = 0, max_zoom_ = 0;
  BBox lonlat_;
  TileFormat format_ = TileFormat::png;
  std::string metadata_;
};

}  // namespace qinling::raster
