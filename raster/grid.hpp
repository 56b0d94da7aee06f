// The analysis grid (size, geotransform, CRS), pixel windows and block-aligned window plans.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace qinling::raster {

// A rectangle of pixels: column/row offset and size.
struct Window {
  int x = 0, y = 0, width = 0, height = 0;
  std::int64_t pixels() const { return std::int64_t(width) * height; }
  bool operator==(const Window&) const = default;
};

struct BBox {
  double xmin = 0, ymin = 0, xmax = 0, ymax = 0;
};

// A north-up or rotated raster grid. The CRS is kept as WKT so that it round-trips into GDAL.
struct Grid {
  int width = 0, height = 0;
  std::array<double, 6> geotransform{0, 1, 0, 0, 0, -1};
  std::string crs_wkt;

  // Pixel (col,row) corner → world (x,y).
  std::array<double, 2> to_world(double col, double row) const;
  // World → fractional pixel coordinates.
  std::array<double, 2> to_pixel(double x, double y) const;
  BBox bounds() const;
  double resolution_x() const { return geotransform[1]; }
  double resolution_y() const { return -geotransform[5]; }
  // Same size and geotransform (to 1e-9 of a pixel) and the same CRS text.
  bool aligned_with(const Grid& other) const;
  // The window of this grid covering bbox, clipped to the grid.
  Window window_of(const BBox& bbox) const;
  // Builds a north-up grid covering `extent` at `resolution`, snapped outward to whole pixels.
  static Grid from_extent(const BBox& extent, double resolution, const std::string& crs_wkt);
};

// True when two WKT strings describe the same CRS (textual differences ignored).
bool same_crs(const std::string& wkt_a, const std::string& wkt_b);

// Splits `grid` into windows aligned to `block_w`×`block_h` (the writer's tile size), each
// holding at most `max_pixels` pixels when the blocks allow, in row-major order. Windows are
// whole block rows when a row fits, otherwise groups of blocks within a row. The order is fixed,
// so results never depend on scheduling.
std::vector<Window> plan_windows(int width, int height, int block_w, int block_h, std::int64_t max_pixels);

}  // namespace qinling::raster
