// What the threads warping one row of tiles share: the tile-CRS-to-source-pixel transform (built
// once, copied per thread) and the source rows of a value layer, decoded once for all of them.
#pragma once

#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <tbb/enumerable_thread_specific.h>

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "raster/gdal_io.hpp"
#include "raster/tiff_direct.hpp"
#include "raster/tile_source.hpp"

namespace qinling::raster {

// Tile-CRS coordinates to source pixel coordinates, exactly as GDAL's GenImgProj transformer
// computes them (the same coordinate operation: same options and area of interest, so GDAL's
// transformation cache hands back the one footprint_in() found). Building one searches PROJ's
// database (~0.1 s); a copy costs nothing, so each thread gets its own copy.
class SourceTransform {
 public:
  // Throws ProcessingError naming `path` when the layer cannot be transformed to the tile CRS.
  SourceTransform(GDALDataset* src, const std::string& tile_crs_wkt, const std::string& path);
  SourceTransform(const SourceTransform& other);
  SourceTransform& operator=(const SourceTransform&) = delete;
  ~SourceTransform();
  // In place: tile-CRS (x, y) to source (column, row); ok[i] = 0 where the transform fails.
  void to_source(int n, double* x, double* y, int* ok);

 private:
  SourceTransform() = default;
  std::unique_ptr<OGRCoordinateTransformation> ct_;
  double inv_gt_[6] = {0, 1, 0, 0, 0, 1};
};

// Rows of a single-band layer as floats (nodata as NaN) for the threads warping one row of tiles.
// Reading for itself, each thread decoded every source block it touched (neighbouring warp blocks
// share source blocks), and both threads' caches thrashed on wide layers. Here whole block rows
// are decoded once, the blocks of a block row in parallel (one handle per thread), and only the
// block rows the current row of tiles needs are kept.
class SourceRows {
 public:
  SourceRows(const TileSource& src, std::size_t max_bytes);
  // Holds rows [y0, y1) (clipped to the layer) and drops the block rows above y0. False, holding
  // nothing, when that needs more than max_bytes (a very wide layer): callers read for themselves.
  // Call from one thread at a time (it runs a parallel read itself).
  bool cover(int y0, int y1);
  bool holds(int y0, int y1) const { return y0 >= first_ && y1 <= last_ && y0 <= y1; }
  // A held row, `width()` floats.
  const float* row(int y) const {
    return blocks_.at(y / block_h_).data() + std::size_t(y % block_h_) * width_;
  }
  int first() const { return first_; }  // held rows [first(), last())
  int last() const { return last_; }
  int width() const { return width_; }
  int height() const { return height_; }

 private:
  struct Handle;
  void read_block_rows(const std::vector<int>& missing);
  bool read_direct(Handle& hd, int bx, int y0, int w, int h, float* out);

  const TileSource& src_;
  std::size_t max_bytes_;
  int width_ = 0, height_ = 0, block_w_ = 0, block_h_ = 0, tiff_block_h_ = 1;  // block_h_: rows per chunk
  int has_nodata_ = 0;
  double nodata_ = 0;
  int first_ = 0, last_ = 0;                  // held rows [first_, last_)
  std::map<int, std::vector<float>> blocks_;  // block row index -> its rows, full width
  std::vector<std::vector<float>> spare_;     // dropped block rows' buffers
  bool direct_ = false;                       // a GeoTIFF DirectTiffTiles decodes (raster/tiff_direct.hpp)
  struct Handle {
    DatasetPtr ds;
    std::unique_ptr<DirectTiffTiles> direct;
    bool direct_tried = false;
  };
  tbb::enumerable_thread_specific<Handle> handles_;
};

}  // namespace qinling::raster
