// The part of a tile pyramid one process (an MPI rank) renders for another to finish: its tiles
// (encoded bytes and pixel hashes, in emission order) and the float pixels of each band's top row.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace qinling::raster {

// One record of a part file: a tile, or the pixels of a row of tiles the reader folds into its
// parent level.
struct TilePartRecord {
  enum class Kind { tile, strip };
  Kind kind = Kind::tile;
  int z = 0, x = 0, y = 0;  // tile; strips use y as their row and x as their first column
  std::uint64_t hash = 0;
  std::string data;  // encoded tile; empty: a fully transparent tile
  int cols = 0, channels = 0;
  std::vector<float> px;  // strip pixels
};

class TilePartWriter {
 public:
  explicit TilePartWriter(std::string path);  // creates or truncates
  void tile(int z, int x, int y, std::uint64_t hash, const std::string& data);
  void strip(int row, int col0, int cols, int channels, const std::vector<float>& px);
  // Flushes and checks every write (throws ProcessingError naming the file).
  void close();

 private:
  void check();
  std::string path_;
  std::ofstream out_;
};

class TilePartReader {
 public:
  explicit TilePartReader(std::string path);  // throws ProcessingError when missing
  // The next record; false at the end of the file. Throws on a truncated or corrupt file.
  bool next(TilePartRecord& record);

 private:
  std::string path_;
  std::ifstream in_;
};

}  // namespace qinling::raster
