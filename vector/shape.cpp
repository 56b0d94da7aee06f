#include "vector/shape.hpp"

#include <ogr_geometry.h>

#include <algorithm>
#include <limits>

namespace qinling::vector {

double ring_area(const Point* p, std::size_t n) {
  double a = 0;
  for (std::size_t i = 0; i + 1 < n; ++i)
    a += (p[i][0] - p[0][0]) * (p[i + 1][1] - p[0][1]) - (p[i + 1][0] - p[0][0]) * (p[i][1] - p[0][1]);
  return a / 2;
}

Shape Shape::rectangle(double xmin, double ymin, double xmax, double ymax) {
  Shape s;
  s.add_ring({{xmin, ymin}, {xmax, ymin}, {xmax, ymax}, {xmin, ymax}, {xmin, ymin}}, true);
  return s;
}

void Shape::add_ring(std::vector<Point> ring, bool exterior) {
  if (ring.size() < 3) return;
  if (ring.front() != ring.back()) ring.push_back(ring.front());
  const double a = ring_area(ring.data(), ring.size());
  if ((exterior && a < 0) || (!exterior && a > 0)) std::reverse(ring.begin(), ring.end());
  points.insert(points.end(), ring.begin(), ring.end());
  ring_ends.push_back(std::uint32_t(points.size()));
  if (exterior || polygon_ends.empty())
    polygon_ends.push_back(std::uint32_t(ring_ends.size()));
  else
    polygon_ends.back() = std::uint32_t(ring_ends.size());
}

raster::BBox Shape::bounds() const {
  constexpr double inf = std::numeric_limits<double>::infinity();
  raster::BBox b{inf, inf, -inf, -inf};
  for (const auto& p : points) {
    b.xmin = std::min(b.xmin, p[0]);
    b.ymin = std::min(b.ymin, p[1]);
    b.xmax = std::max(b.xmax, p[0]);
    b.ymax = std::max(b.ymax, p[1]);
  }
  return b;
}

double Shape::area() const {
  double a = 0;
  for (std::size_t r = 0; r < rings(); ++r)
    a += ring_area(points.data() + ring_begin(r), ring_ends[r] - ring_begin(r));
  return a;
}

Point Shape::centroid() const {
  double cx = 0, cy = 0, a = 0;
  for (std::size_t r = 0; r < rings(); ++r) {
    const Point* p = points.data() + ring_begin(r);
    const std::size_t n = ring_ends[r] - ring_begin(r);
    for (std::size_t i = 0; i + 1 < n; ++i) {
      // relative to the first point to keep precision with large projected coordinates
      const double x0 = p[i][0] - points[0][0], y0 = p[i][1] - points[0][1];
      const double x1 = p[i + 1][0] - points[0][0], y1 = p[i + 1][1] - points[0][1];
      const double cross = x0 * y1 - x1 * y0;
      a += cross;
      cx += (x0 + x1) * cross;
      cy += (y0 + y1) * cross;
    }
  }
  if (a == 0) return points.empty() ? Point{0, 0} : points[0];
  return {points[0][0] + cx / (3 * a), points[0][1] + cy / (3 * a)};
}

OGRGeometry* Shape::to_ogr() const {
  auto make_polygon = [&](std::size_t first_ring, std::size_t end_ring) {
    auto* poly = new OGRPolygon();
    for (std::size_t r = first_ring; r < end_ring; ++r) {
      OGRLinearRing ring;
      const std::size_t b = ring_begin(r);
      ring.setNumPoints(int(ring_ends[r] - b));
      for (std::size_t i = b; i < ring_ends[r]; ++i) ring.setPoint(int(i - b), points[i][0], points[i][1]);
      poly->addRing(&ring);
    }
    return poly;
  };
  if (polygon_ends.size() == 1) return make_polygon(0, polygon_ends[0]);
  auto* multi = new OGRMultiPolygon();
  std::size_t first = 0;
  for (auto end : polygon_ends) {
    multi->addGeometryDirectly(make_polygon(first, end));
    first = end;
  }
  return multi;
}

}  // namespace qinling::vector
