// A compact polygon / multipolygon (flat point arrays, no per-ring allocations) used for grid
// cells: millions of them stay cheap, and the coverage rasteriser reads them directly.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "raster/grid.hpp"

class OGRGeometry;

namespace qinling::vector {

using Point = std::array<double, 2>;

struct Shape {
  std::vector<Point> points;             // every ring closed (first point == last)
  std::vector<std::uint32_t> ring_ends;  // exclusive end of each ring in `points`
  std::vector<std::uint32_t>
      polygon_ends;  // exclusive end of each polygon in `ring_ends`; its first ring is the exterior

  static Shape rectangle(double xmin, double ymin, double xmax, double ymax);
  bool empty() const { return ring_ends.empty(); }
  std::size_t rings() const { return ring_ends.size(); }
  std::size_t ring_begin(std::size_t r) const { return r == 0 ? 0 : ring_ends[r - 1]; }
  // Adds a ring; `exterior` starts a new polygon. Orientation is normalised (exterior
  // counter-clockwise, holes clockwise, with y up) so signed areas add up to the area.
  void add_ring(std::vector<Point> ring, bool exterior);
  raster::BBox bounds() const;
  double area() const;  // signed sum: holes subtract
  Point centroid() const;
  // A new OGRPolygon or OGRMultiPolygon (caller owns).
  OGRGeometry* to_ogr() const;
};

// Signed shoelace area of a closed ring (positive when counter-clockwise with y up).
double ring_area(const Point* p, std::size_t n);

}  // namespace qinling::vector
