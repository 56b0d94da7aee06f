// What a layer is for tiling (RGB(A) Byte imagery or a single band of values), where it lies in a
// tile matrix set, and warping pieces of it onto a level's pixel grid.
#pragma once

#include <gdalwarper.h>

#include <string>
#include <utility>

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

// Warps a block of a level's global pixel grid (px0, py0, w, h at level z) into `out`:
// value layers give one float per pixel (NaN = nodata); rgba layers four floats 0..255.
// `src` must be a handle owned by the calling thread.
void warp_block(GDALDataset* src, const TileSource& source, const TileMatrixSet& tms, int z, GDALResampleAlg alg,
                int px0, int py0, int w, int h, float* out, std::size_t out_line_floats);

// RGB(A) imagery is sampled the way gdal2tiles does it, so that tiles match what GIS users get
// from it today: a warped VRT at the layer's native resolution (nearest neighbour), a window
// snapped to its pixels read at 4x the tile size, then 4x4 box averages (colour and alpha alike).
// `src` must stay open while the returned dataset lives.
DatasetPtr open_native_warped(GDALDataset* src, const TileMatrixSet& tms);
// One tile (z, x, y) from `warped` into `out` (4 floats per pixel, 0..255; lines `out_line_floats` apart).
void read_tile_like_gdal2tiles(GDALDataset* warped, const TileMatrixSet& tms, int z, int x, int y, float* out,
                               std::size_t out_line_floats);

}  // namespace qinling::raster
