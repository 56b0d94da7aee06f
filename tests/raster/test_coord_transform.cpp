// LineTransformer against PROJ point by point: a smooth Gauss–Krüger row (few PROJ calls, same
// coordinates to 1e-9°), a row across the antimeridian (the longitude jump falls back to PROJ) and
// a geostationary row running off the disk (the same points fail).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "raster/coord_transform.hpp"
#include "raster/gdal_io.hpp"

using qinling::raster::LineTransformer;

namespace {

struct Row {
  std::vector<double> x, y;
};

// The row through the line transformer and through PROJ point by point.
std::pair<Row, Row> both(const char* from, double x0, double y0, double dx, std::size_t n, double tol,
                         std::size_t* exact_points = nullptr) {
  qinling::raster::init_gdal();
  OGRSpatialReference f, t;
  f.SetFromUserInput(from);
  t.importFromEPSG(4326);
  auto ct = qinling::raster::make_transform(f, t, "test");
  Row line{std::vector<double>(n), std::vector<double>(n)}, exact = line;
  LineTransformer lt(*ct, tol, tol);
  lt.transform(x0, y0, dx, 0, n, line.x.data(), line.y.data());
  if (exact_points) *exact_points = lt.exact_points();
  for (std::size_t i = 0; i < n; ++i) {
    exact.x[i] = x0 + double(i) * dx;
    exact.y[i] = y0;
  }
  qinling::raster::transform_points(*ct, exact.x.data(), exact.y.data(), n);
  return {line, exact};
}

double worst(const Row& a, const Row& b) {
  double w = 0;
  for (std::size_t i = 0; i < a.x.size(); ++i) {
    if (std::isnan(a.x[i]) != std::isnan(b.x[i])) return INFINITY;
    if (!std::isnan(a.x[i])) w = std::max({w, std::fabs(a.x[i] - b.x[i]), std::fabs(a.y[i] - b.y[i])});
  }
  return w;
}

}  // namespace

TEST(LineTransformer, SmoothRowMatchesProjWithFewCalls) {
  std::size_t calls = 0;
  // 3000 cells of 1 km across the Qinling in CGCS2000 / GK CM 114E.
  const auto [line, exact] = both("EPSG:4547", -1500000.5, 3735000, 1000, 3000, 1e-9, &calls);
  EXPECT_LT(worst(line, exact), 1e-9);
  EXPECT_LT(calls, 3000u / 6);  // knots and checks only
}

TEST(LineTransformer, AntimeridianFallsBackToProj) {
  // WGS 84 / PDC Mercator (centred 150°E): x from 170°E to 170°W crosses ±180° in longitude.
  const auto [line, exact] = both("EPSG:3832", 2220000, 1000000, 500, 5000, 1e-9);
  double jumps = 0;
  for (std::size_t i = 1; i < exact.x.size(); ++i) jumps += std::fabs(exact.x[i] - exact.x[i - 1]) > 180;
  ASSERT_EQ(jumps, 1) << "the row should cross the antimeridian once";
  EXPECT_LT(worst(line, exact), 1e-9);
}

TEST(LineTransformer, PointsOffTheDiskFailLikeProj) {
  // A geostationary view at 105°E: the equator row runs off the Earth's disk at both ends.
  const auto [line, exact] =
      both("+proj=geos +h=35785831 +lon_0=105 +sweep=y +ellps=WGS84", -5600000, 0, 2000, 5600, 1e-9);
  std::size_t failed = 0;
  for (double v : exact.x) failed += std::isnan(v);
  ASSERT_GT(failed, 50u);
  EXPECT_LT(worst(line, exact), 1e-9);
}
