// Tile sinks: an XYZ folder of image files, a fan-out to several sinks, and a folder that is
// built under a temporary name and swapped into place only when complete.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "raster/tile_pyramid.hpp"

namespace qinling::raster {

// Writes `<dir>/{z}/{x}/{y}.<ext>`.
class XyzWriter final : public TileSink {
 public:
  XyzWriter(std::string dir, TileFormat format) : dir_(std::move(dir)), format_(format) {}
  void put(int z, int x, int y, const std::string& data) override;

 private:
  std::string dir_;
  TileFormat format_;
  std::set<std::pair<int, int>> made_;  // (z, x) folders created
};

class FanoutSink final : public TileSink {
 public:
  void add(TileSink* s) { sinks_.push_back(s); }
  void put(int z, int x, int y, const std::string& data) override {
    for (auto* s : sinks_) s->put(z, x, y, data);
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

}  // namespace qinling::raster
