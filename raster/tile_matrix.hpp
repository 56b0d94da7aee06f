// Tile matrix sets (OGC 2D TMS): WebMercatorQuad (EPSG:3857) and the CGCS2000 geographic quad
// Tianditu uses (EPSG:4490, level 1 = 2x1 tiles); tile bounds, scale denominators, zoom choice.
#pragma once

#include <string>
#include <vector>

#include "raster/grid.hpp"

namespace qinling::raster {

// A quad-tree tile matrix set: level min_level has width0 x height0 tiles of tile_size px at
// resolution0; each further level doubles both counts and halves the resolution. Tiles count
// right and down from the top-left corner (origin_x, origin_y).
struct TileMatrixSet {
  std::string id;         // "WebMercatorQuad", "CGCS2000Quad"
  int epsg = 0;
  bool geographic = false;  // degrees, and the CRS axis order is latitude first
  double origin_x = 0, origin_y = 0;  // top-left corner, x = easting or longitude
  double resolution0 = 1;             // CRS units per pixel at min_level
  int width0 = 1, height0 = 1;        // tiles at min_level
  int min_level = 0;                  // first level (1 for CGCS2000Quad)
  int max_level = 24;
  int tile_size = 256;

  int matrix_width(int z) const { return width0 << (z - min_level); }
  int matrix_height(int z) const { return height0 << (z - min_level); }
  // CRS units per pixel at level z.
  double resolution(int z) const;
  // OGC scale denominator: resolution in metres / 0.28 mm (degrees use the equatorial metres per degree).
  double scale_denominator(int z) const;
  // Tile bounds in the CRS (x = easting/longitude, y = northing/latitude); y counts down from the top.
  BBox tile_bounds(int z, int x, int y) const;
  // The CRS as WKT with GIS axis order (x = longitude) for geographic sets.
  std::string crs_wkt() const;
  std::string crs_urn() const { return "urn:ogc:def:crs:EPSG::" + std::to_string(epsg); }
};

const TileMatrixSet& web_mercator_quad();
const TileMatrixSet& cgcs2000_quad();
// The set with this identifier; throws ConfigError listing the known ones.
const TileMatrixSet& tile_matrix_set(const std::string& id);
std::vector<std::string> tile_matrix_set_ids();

// Inclusive tile ranges of one level that cover a bbox.
struct TileRange {
  int z = 0, col0 = 0, row0 = 0, col1 = -1, row1 = -1;
  bool empty() const { return col1 < col0 || row1 < row0; }
  long long count() const { return empty() ? 0 : (long long)(col1 - col0 + 1) * (row1 - row0 + 1); }
};
TileRange tile_range(const TileMatrixSet& tms, int z, const BBox& bbox);

// The deepest level whose resolution is not finer than `pixel_size` (CRS units per pixel), as
// gdal2tiles chooses it; and the level at which `extent` (the larger side) fits about one tile.
int max_zoom_for(const TileMatrixSet& tms, double pixel_size);
int min_zoom_for(const TileMatrixSet& tms, double extent);

// TMS row flip (MBTiles): the row counted from the bottom.
inline int tms_row(int z_rows, int y) { return z_rows - 1 - y; }

}  // namespace qinling::raster
