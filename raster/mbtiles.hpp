// MBTiles 1.3 (SQLite): a writer that stores identical tiles once (map/images tables behind a
// `tiles` view, TMS row order) in batched transactions, and a reader for the tile server.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>

#include "raster/tile_pyramid.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace qinling::raster {

// Tile metadata shared by MBTiles, PMTiles and TileJSON.
struct TilesetInfo {
  std::string name, description, attribution;
  TileFormat format = TileFormat::png;
  int min_zoom = 0, max_zoom = 0;
  BBox lonlat;  // west, south, east, north
  std::string render_token;  // incremental runs (tile_manifest.hpp); empty: not recorded
};

// Writes `path` under a temporary name; `commit` adds the metadata and renames it into place.
// `update`: starts from a copy of the existing file (written by this writer): put() replaces rows,
// kept tiles stay, rows neither put nor kept and images no row uses are deleted at commit.
class MbtilesWriter final : public TileSink {
 public:
  explicit MbtilesWriter(const std::string& path, bool update = false);
  ~MbtilesWriter() override;
  MbtilesWriter(const MbtilesWriter&) = delete;
  MbtilesWriter& operator=(const MbtilesWriter&) = delete;

  void put(int z, int x, int y, const std::string& data) override;
  bool holds(int z, int x, int y) override { return previous_.count(pack_tile(z, x, y)) > 0; }
  void keep(int z, int x, int y) override { visited_.insert(pack_tile(z, x, y)); }
  void commit(const TilesetInfo& info);
  long long unique_tiles() const { return (long long)seen_.size(); }

 private:
  void exec(const char* sql);
  void check(int rc, const char* what);
  void close() noexcept;
  std::string path_, tmp_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* put_map_ = nullptr;
  sqlite3_stmt* put_image_ = nullptr;
  std::unordered_set<std::string> seen_;  // keys (content hash and size) of stored images
  std::unordered_set<std::uint64_t> previous_, visited_;  // update: rows of the old file, rows written or kept
  int in_batch_ = 0;
  bool committed_ = false;
};

// Read-only access for serving; thread-safe.
class MbtilesReader {
 public:
  explicit MbtilesReader(const std::string& path);
  ~MbtilesReader();
  MbtilesReader(const MbtilesReader&) = delete;
  MbtilesReader& operator=(const MbtilesReader&) = delete;
  // The tile at XYZ (z, x, y), or nullopt.
  std::optional<std::string> get(int z, int x, int y);
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::mutex mutex_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* get_ = nullptr;
  std::map<std::string, std::string> metadata_;
};

}  // namespace qinling::raster
