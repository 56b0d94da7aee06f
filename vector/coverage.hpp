// Exact pixel coverage fractions of a polygon: the share of each pixel's area inside it,
// computed from the polygon boundary (no sampling), for coverage-weighted zonal statistics.
#pragma once

#include <array>
#include <vector>

#include "raster/grid.hpp"
#include "vector/shape.hpp"

namespace qinling::vector {

// World → pixel (col, row) affine transform of a raster grid (north-up or rotated).
struct PixelTransform {
  std::array<double, 6> inverse{};  // col = i0 + i1·x + i2·y; row = i3 + i4·x + i5·y
  double orientation = 1;  // +1 when the transform mirrors (north-up), so that exteriors stay positive
  explicit PixelTransform(const raster::Grid& grid);
  Point operator()(const Point& p) const {
    return {inverse[0] + inverse[1] * p[0] + inverse[2] * p[1],
            inverse[3] + inverse[4] * p[0] + inverse[5] * p[1]};
  }
};

// The pixel window a shape's bounding box touches (not clipped to any grid).
raster::Window pixel_bounds(const Shape& world_shape, const PixelTransform& to_pixel);

// Fills `out` (w.pixels() values, row-major) with the fraction of each pixel of window `w` that
// lies inside `world_shape`. Exact for straight edges: each edge is cut at pixel rows and
// columns, every piece adds its trapezoid to its pixel and its full height to the pixels on its
// right, and a prefix sum along each row turns those increments into areas. `scratch` is reused
// between calls to avoid allocations.
void coverage_fractions(const Shape& world_shape, const PixelTransform& to_pixel, const raster::Window& w,
                        std::vector<double>& scratch, std::vector<float>& out);

}  // namespace qinling::vector
