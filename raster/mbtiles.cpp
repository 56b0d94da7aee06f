#include "raster/mbtiles.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "models/errors.hpp"
#include "raster/durable_file.hpp"

namespace qinling::raster {
namespace {

constexpr int kBatch = 1000;  // tiles per transaction

const char* kSchema = R"sql(
CREATE TABLE metadata (name TEXT, value TEXT);
CREATE UNIQUE INDEX metadata_name ON metadata (name);
CREATE TABLE map (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_id TEXT);
CREATE UNIQUE INDEX map_index ON map (zoom_level, tile_column, tile_row);
CREATE TABLE images (tile_id TEXT, tile_data BLOB);
CREATE UNIQUE INDEX images_id ON images (tile_id);
CREATE VIEW tiles AS SELECT map.zoom_level AS zoom_level, map.tile_column AS tile_column,
  map.tile_row AS tile_row, images.tile_data AS tile_data
  FROM map JOIN images ON images.tile_id = map.tile_id;
)sql";

std::string fmt(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.8f", v);
  return b;
}

std::string tile_key(std::uint64_t hash, std::size_t size) {
  char b[48];
  std::snprintf(b, sizeof b, "%016llx-%zu", (unsigned long long)hash, size);
  return b;
}

}  // namespace

MbtilesWriter::MbtilesWriter(const std::string& path, bool update)
    : path_(path), tmp_(path + ".partial-" + std::to_string(::getpid())) {
  std::filesystem::remove(tmp_);
  std::error_code ec;
  if (update) std::filesystem::copy_file(path_, tmp_, ec);
  if (ec) throw ProcessingError(path_ + ": cannot copy it to update it: " + ec.message());
  if (sqlite3_open(tmp_.c_str(), &db_) != SQLITE_OK) {
    close();
    throw ProcessingError(path_ + ": cannot create the MBTiles file");
  }
  // A temporary file renamed only when complete needs no journal for safety.
  exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;");
  if (update) {
    sqlite3_stmt* st = nullptr;
    check(sqlite3_prepare_v2(db_, "SELECT zoom_level, tile_column, tile_row FROM map", -1, &st, nullptr), "read map");
    while (sqlite3_step(st) == SQLITE_ROW) {
      const int z = sqlite3_column_int(st, 0);
      previous_.insert(pack_tile(z, sqlite3_column_int(st, 1), tms_row(1 << z, sqlite3_column_int(st, 2))));
    }
    sqlite3_finalize(st);
    check(sqlite3_prepare_v2(db_, "SELECT tile_id FROM images", -1, &st, nullptr), "read images");
    while (sqlite3_step(st) == SQLITE_ROW)
      if (const auto* id = sqlite3_column_text(st, 0)) seen_.insert(reinterpret_cast<const char*>(id));
    sqlite3_finalize(st);
  } else {
    exec(kSchema);
  }
  check(sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO map VALUES (?, ?, ?, ?)", -1, &put_map_, nullptr), "prepare");
  check(sqlite3_prepare_v2(db_, "INSERT INTO images VALUES (?, ?)", -1, &put_image_, nullptr), "prepare");
}

MbtilesWriter::~MbtilesWriter() {
  close();
  if (!committed_) std::filesystem::remove(tmp_);
}

void MbtilesWriter::close() noexcept {
  sqlite3_finalize(put_map_);
  sqlite3_finalize(put_image_);
  put_map_ = put_image_ = nullptr;
  if (db_) sqlite3_close(db_);
  db_ = nullptr;
}

void MbtilesWriter::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw ProcessingError(path_ + ": SQLite error: " + msg);
  }
}

void MbtilesWriter::check(int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw ProcessingError(path_ + ": SQLite " + what + " failed: " + sqlite3_errmsg(db_));
}

void MbtilesWriter::put(int z, int x, int y, const std::string& data) {
  if (in_batch_ == 0) exec("BEGIN");
  const std::uint64_t h = content_hash(data);
  const std::string key = tile_key(h, data.size());
  if (seen_.insert(key).second) {
    sqlite3_reset(put_image_);
    sqlite3_bind_text(put_image_, 1, key.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(put_image_, 2, data.data(), int(data.size()), SQLITE_STATIC);
    check(sqlite3_step(put_image_), "insert image");
  }
  sqlite3_reset(put_map_);
  sqlite3_bind_int(put_map_, 1, z);
  sqlite3_bind_int(put_map_, 2, x);
  sqlite3_bind_int(put_map_, 3, tms_row(1 << z, y));  // MBTiles rows count from the bottom (TMS)
  sqlite3_bind_text(put_map_, 4, key.c_str(), -1, SQLITE_TRANSIENT);
  check(sqlite3_step(put_map_), "insert tile");
  if (!previous_.empty()) visited_.insert(pack_tile(z, x, y));
  if (++in_batch_ == kBatch) {
    exec("COMMIT");
    in_batch_ = 0;
  }
}

void MbtilesWriter::commit(const TilesetInfo& info) {
  if (in_batch_ == 0) exec("BEGIN");
  in_batch_ = 0;
  bool orphans_removed = false;
  if (!previous_.empty()) {
    // Update: rows of tiles that are gone, then images no row points at (identical tiles share one).
    sqlite3_stmt* del = nullptr;
    check(sqlite3_prepare_v2(db_, "DELETE FROM map WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?", -1,
                             &del, nullptr),
          "prepare");
    for (const std::uint64_t k : previous_) {
      if (visited_.count(k)) continue;
      const int z = int(k >> 58), x = int((k >> 29) & ((1u << 29) - 1)), y = int(k & ((1u << 29) - 1));
      sqlite3_reset(del);
      sqlite3_bind_int(del, 1, z);
      sqlite3_bind_int(del, 2, x);
      sqlite3_bind_int(del, 3, tms_row(1 << z, y));
      const int rc = sqlite3_step(del);
      if (rc != SQLITE_DONE) sqlite3_finalize(del), check(rc, "delete tile");
      orphans_removed = orphans_removed || sqlite3_changes(db_) > 0;
    }
    sqlite3_finalize(del);
    exec("DELETE FROM images WHERE tile_id NOT IN (SELECT tile_id FROM map);");
    orphans_removed = orphans_removed || sqlite3_changes(db_) > 0;
    exec("DELETE FROM metadata;");
  }
  const auto& b = info.lonlat;
  const std::map<std::string, std::string> meta = {
      {"name", info.name},
      {"description", info.description},
      {"attribution", info.attribution},
      {"format", tile_extension(info.format)},
      {"type", "overlay"},
      {"version", "1.3"},
      {"minzoom", std::to_string(info.min_zoom)},
      {"maxzoom", std::to_string(info.max_zoom)},
      {"bounds", fmt(b.xmin) + "," + fmt(b.ymin) + "," + fmt(b.xmax) + "," + fmt(b.ymax)},
      {"center", fmt((b.xmin + b.xmax) / 2) + "," + fmt((b.ymin + b.ymax) / 2) + "," + std::to_string(info.min_zoom)},
      {"qinling_render", info.render_token}};
  sqlite3_stmt* st = nullptr;
  check(sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO metadata VALUES (?, ?)", -1, &st, nullptr), "prepare");
  for (const auto& [k, v] : meta) {
    if (v.empty() && k == "qinling_render") continue;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, k.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, v.c_str(), -1, SQLITE_TRANSIENT);
    const int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
      sqlite3_finalize(st);
      check(rc, "insert metadata");
    }
  }
  sqlite3_finalize(st);
  exec("COMMIT");
  std::error_code ec;
  if (orphans_removed) {
    // Replaced and deleted tiles left free pages that later runs would only partly reuse: the file
    // would keep growing across incremental runs. VACUUM INTO writes a compact copy (one pass, in
    // this folder rather than in the system temp folder a plain VACUUM would use).
    const std::string compact = tmp_ + ".vacuum";
    std::filesystem::remove(compact, ec);
    sqlite3_stmt* vac = nullptr;
    check(sqlite3_prepare_v2(db_, "VACUUM INTO ?", -1, &vac, nullptr), "prepare vacuum");
    sqlite3_bind_text(vac, 1, compact.c_str(), -1, SQLITE_TRANSIENT);
    const int rc = sqlite3_step(vac);
    sqlite3_finalize(vac);
    if (rc != SQLITE_DONE) {
      std::filesystem::remove(compact, ec);
      check(rc, "vacuum");
    }
    close();
    std::filesystem::rename(compact, tmp_, ec);
    if (ec) throw ProcessingError(path_ + ": cannot replace the temporary file by its vacuumed copy: " + ec.message());
  }
  close();
  // Data first, then the rename, then the folder: after a power loss the name holds the old file
  // or the complete new one (and the tile journal, removed after this, is not needed any more).
  sync_file(tmp_);
  std::filesystem::rename(tmp_, path_, ec);
  if (ec) throw ProcessingError(path_ + ": cannot move the finished MBTiles into place: " + ec.message());
  committed_ = true;
  sync_directory(parent_directory(path_));
}

MbtilesReader::MbtilesReader(const std::string& path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db_,
                         "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?", -1,
                         &get_, nullptr) != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "cannot open";
    sqlite3_finalize(get_);
    sqlite3_close(db_);
    throw InputError(path + ": not a readable MBTiles file (" + msg + ")");
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT name, value FROM metadata", -1, &st, nullptr) == SQLITE_OK)
    while (sqlite3_step(st) == SQLITE_ROW) {
      const auto* k = sqlite3_column_text(st, 0);
      const auto* v = sqlite3_column_text(st, 1);
      if (k && v) metadata_[reinterpret_cast<const char*>(k)] = reinterpret_cast<const char*>(v);
    }
  sqlite3_finalize(st);
}

MbtilesReader::~MbtilesReader() {
  sqlite3_finalize(get_);
  sqlite3_close(db_);
}

std::optional<std::string> MbtilesReader::get(int z, int x, int y) {
  if (z < 0 || z > 30 || x < 0 || y < 0 || x >= (1 << z) || y >= (1 << z)) return std::nullopt;
  std::lock_guard lock(mutex_);
  sqlite3_reset(get_);
  sqlite3_bind_int(get_, 1, z);
  sqlite3_bind_int(get_, 2, x);
  sqlite3_bind_int(get_, 3, tms_row(1 << z, y));
  if (sqlite3_step(get_) != SQLITE_ROW) return std::nullopt;
  const void* p = sqlite3_column_blob(get_, 0);
  const int n = sqlite3_column_bytes(get_, 0);
  return std::string(static_cast<const char*>(p), std::size_t(n));
}

}  // namespace qinling::raster
