// Tile sinks: an XYZ folder of image files, a fan-out to several sinks, and a folder that is
// built under a temporary name and swapped into place only when complete.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "raster/tile_pyramid.hpp"

namespace qinling::raster {

// Writes `<dir>/{z}/{x}/{y}.<ext>`. With `previous` (the same matrix set's folder of the last
// run), kept tiles are hard links to the previous files (copies where links are not possible).
class XyzWriter final : public TileSink {
 public:
  XyzWriter(std::string dir, TileFormat format, std::string previous = {})
      : dir_(std::move(dir)), previous_(std::move(previous)), format_(format) {}
  void put(int z, int x, int y, const std::string& data) override;
  bool holds(int z, int x, int y) override;
  void keep(int z, int x, int y) override;

 private:
  std::string folder(int z, int x);
  std::string dir_, previous_;
  TileFormat format_;
  std::set<std::pair<int, int>> made_;  // (z, x) folders created
};

class FanoutSink final : public TileSink {
 public:
  void add(TileSink* s) { sinks_.push_back(s); }
  void put(int z, int x, int y, const std::string& data) override {
    for (auto* s : sinks_) s->put(z, x, y, data);
  }
  // A tile is kept only when every output still has it; otherwise it is drawn for all of them.
  bool holds(int z, int x, int y) override {
    for (auto* s : sinks_)
      if (!s->holds(z, x, y)) return false;
    return !sinks_.empty();
  }
  void keep(int z, int x, int y) override {
    for (auto* s : sinks_) s->keep(z, x, y);
  }

 private:
  std::vector<TileSink*> sinks_;
};

// A destination folder filled under `.<name>.partial-<pid>` beside it; `commit` replaces the old
// folder (if any) with the new one; an uncommitted folder is removed on destruction.
class AtomicFolder {
 public:
  explicit AtomicFolder(const std::string& path);
  ~AtomicFolder();
  AtomicFolder(const AtomicFolder&) = delete;
  AtomicFolder& operator=(const AtomicFolder&) = delete;
  const std::string& staging() const { return tmp_; }
  void commit();

 private:
  std::string path_, tmp_;
  bool committed_ = false;
};

// Writes a small text file atomically (temporary name, then rename).
void write_file_atomic(const std::string& path, const std::string& text);

// Removes what killed runs left beside `path`: `.<name>.partial-PID*` and `<name>.partial-PID`,
// `<name>.tiles-PID` whose process no longer exists (never a running process's files).
void remove_stale_partials(const std::string& path);

}  // namespace qinling::raster
