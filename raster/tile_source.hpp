// What a layer is for tiling (RGB(A) Byte imagery or a single band of values), where it lies in a
// tile matrix set, and warping pieces of it onto a level's pixel grid.
#pragma once

#include <gdalwarper.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "raster/gdal_io.hpp"
#include "raster/grid.hpp"
#include "raster/tile_matrix.hpp"

namespace qinling::raster {

// rgba: 3 or 4 Byte bands tiled as they are; value: one band rendered through a colour ramp.
enum class LayerKind { rgba, value };

struct TileSource {
  std::string path;
  LayerKind kind = LayerKind::value;
  int bands = 0;
  int alpha_band = 0;  // 1-based alpha band of an rgba layer, 0 when none
  GDALDataType type = GDT_Unknown;
};
// Throws InputError naming the file when it cannot be tiled (e.g. several non-Byte bands).
TileSource describe_tile_source(const std::string& path);

// Where a layer lies in a tile matrix set's CRS.
struct Footprint {
  BBox bounds;         // in the set's CRS (x = easting or longitude)
  double pixel_size = 0;  // the layer's resolution there (CRS units per pixel)
  BBox lonlat;         // WGS 84 / CGCS2000 longitude-latitude bounds
};
Footprint footprint_in(const TileSource& src, const TileMatrixSet& tms);

struct ZoomRange {
  int min = 0, max = 0;
};
// From the native resolution (deepest) to the level where the layer fits about one tile.
ZoomRange auto_zoom_range(const Footprint& fp, const TileMatrixSet& tms);

// Approximate min/max of band 1 (deterministic subsampling; no side-car files are written).
std::pair<double, double> value_min_max(const std::string& path);

class SourceTransform;
class SourceRows;

// Warps blocks of a level's global pixel grid onto float buffers: value layers give one float per
// pixel (NaN = nodata), rgba layers four floats 0..255. One per thread: it owns its source handle
// and its copy of the tile-CRS-to-source transform (building one queries PROJ's database; give a
// `shared` one built once and each warper copies it for nothing), so each block only moves the
// destination geotransform.
class TileWarper {
 public:
  TileWarper(const TileSource& source, const TileMatrixSet& tms, GDALResampleAlg alg,
             const SourceTransform* shared = nullptr);
  ~TileWarper();
  TileWarper(const TileWarper&) = delete;
  TileWarper& operator=(const TileWarper&) = delete;
  // The block (px0, py0, w, h) of level z into `out` (lines `out_line_floats` apart). Bilinear
  // value layers sample `rows` when it holds the rows the block needs, else read for themselves
  // (the same values either way).
  void warp(int z, int px0, int py0, int w, int h, float* out, std::size_t out_line_floats,
            const SourceRows* rows = nullptr);
  // Rows [r0, r1) of that block alone (bilinear value layers): the same values as warp() gives
  // them, so a block's rows can be shared out between threads. `out` points at row r0.
  void warp_rows(int z, int px0, int py0, int w, int r0, int r1, float* out, std::size_t out_line_floats,
                 const SourceRows* rows);
  bool splits_rows() const { return source_.kind == LayerKind::value && alg_ == GRA_Bilinear; }
  // The source rows [first, last) block (px0, py0, w, h) of level z reads, from the transform of
  // its edges (a hint for SourceRows::cover; empty when it misses the layer).
  std::pair<int, int> source_rows(int z, int px0, int py0, int w, int h);

 private:
  // Bilinear value layers without GDAL's general warp kernel (the main cost of a tiling run):
  // source coordinates per row from the exact transform at both ends and the middle (linear in
  // between when the middle is within 1/8 pixel, else exact per pixel), then GDAL's bilinear
  // rule: valid neighbours only, weights renormalised, outside the source = nodata.
  void bilinear(int w, int r0, int r1, float* out, std::size_t out_line_floats, const SourceRows* rows);
  bool bilinear_shared(int w, int r0, int r1, float* out, std::size_t out_line_floats, const SourceRows& rows);
  void set_block(int z, int px0, int py0);
  void approx_row(int r, int w, double* rx, double* ry);
  void gdal_warp(int w, int h, float* out, std::size_t out_line_floats);
  std::vector<double> sx_, sy_;
  std::vector<float> window_;
  std::vector<const float*> row_ptr_;
  struct Span {
    int a, b;
    bool ok;
  };
  std::vector<Span> todo_;

  const TileSource& source_;
  const TileMatrixSet& tms_;
  GDALResampleAlg alg_;
  DatasetPtr src_;
  std::unique_ptr<SourceTransform> to_source_;
  void* transformer_ = nullptr;  // GDAL's, for the other resampling algorithms (built when needed)
  double gt_[6] = {0, 1, 0, 0, 0, -1};  // the level's geotransform at the current block
  int has_nodata_ = 0;
  double nodata_ = 0;
};

// RGB(A) imagery is sampled the way gdal2tiles does it, so that tiles match what GIS users get
// from it today: a warped VRT at the layer's native resolution (nearest neighbour), a window
// snapped to its pixels read at 4x the tile size, then 4x4 box averages (colour and alpha alike).
// `src` must stay open while the returned dataset lives.
DatasetPtr open_native_warped(GDALDataset* src, const TileMatrixSet& tms);
// One tile (z, x, y) from `warped` into `out` (4 floats per pixel, 0..255; lines `out_line_floats` apart).
void read_tile_like_gdal2tiles(GDALDataset* warped, const TileMatrixSet& tms, int z, int x, int y, float* out,
                               std::size_t out_line_floats);

}  // namespace qinling::raster
