// Decoding the tiles of the commonest value layer (a tiled GeoTIFF of one Float32 band, DEFLATE,
// floating-point or no predictor) without libtiff's codec: raw tiles inflated by libdeflate and the
// predictor undone sixteen bytes at a time. libtiff undoes it a byte at a time (~12 % of a tiling
// run); the floats are the same as GDAL reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace qinling::raster {

class DirectTiffTiles {
 public:
  // Null when the file is anything else (then read it through GDAL). One per thread.
  static std::unique_ptr<DirectTiffTiles> open(const std::string& path);
  ~DirectTiffTiles();
  DirectTiffTiles(const DirectTiffTiles&) = delete;
  DirectTiffTiles& operator=(const DirectTiffTiles&) = delete;

  int tile_width() const { return tw_; }
  int tile_height() const { return th_; }
  // The w x h top-left part of tile (tx, ty) into `out` (lines `out_line` floats apart). False when
  // the tile is absent or does not decode (read it through GDAL then, which reports why).
  bool read(int tx, int ty, int w, int h, float* out, std::size_t out_line);

 private:
  DirectTiffTiles() = default;
  void* tif_ = nullptr;       // TIFF*
  void* inflater_ = nullptr;  // libdeflate_decompressor*
  int tw_ = 0, th_ = 0, predictor_ = 1;
  bool swapped_ = false;
  std::vector<std::uint8_t> raw_, plain_;
};

// The floating-point predictor (TIFF technical note 3) undone for one row of `n` 4-byte samples:
// `row` holds byte-wise differences of the byte planes, most significant plane first; `out` gets
// the floats in host (little-endian) order. Exposed for the tests.
void undo_float_predictor(std::uint8_t* row, int n, float* out);

}  // namespace qinling::raster
