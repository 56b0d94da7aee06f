// Coordinate transformations that go back to GDAL's cache when released, and grid rows transformed
// with PROJ called only at knots (cubic interpolation in between, checked against PROJ per segment).
#pragma once

#include <ogr_spatialref.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace qinling::raster {

// Creating a transformation searches PROJ's database (0.05–0.2 s each between CGCS2000 and WGS84);
// GDAL keeps a released one for reuse only when it is destroyed through DestroyCT, never `delete`.
struct TransformDeleter {
  void operator()(OGRCoordinateTransformation* ct) const noexcept {
    OGRCoordinateTransformation::DestroyCT(ct);
  }
};
using TransformPtr = std::unique_ptr<OGRCoordinateTransformation, TransformDeleter>;

// A transformation between two CRSs given as WKT, x = easting/longitude (traditional GIS order).
// Throws ProcessingError naming `what` when PROJ has none.
TransformPtr make_transform(const std::string& from_wkt, const std::string& to_wkt, const std::string& what);
TransformPtr make_transform(const OGRSpatialReference& from, const OGRSpatialReference& to,
                            const std::string& what);
// from → to as the inverse of to → from, which planning already created (GDAL's cache hands it
// over): no second database search for the reverse direction. Same operations as a direct one.
TransformPtr make_inverse_transform(const OGRSpatialReference& from, const OGRSpatialReference& to,
                                    const std::string& what);
// An independent copy for another thread (no database search).
TransformPtr clone_transform(const OGRCoordinateTransformation& ct);

// Transforms n points in place; points PROJ cannot transform become NaN.
void transform_points(OGRCoordinateTransformation& ct, double* x, double* y, std::size_t n);

// Transforms evenly spaced points along a line (a row of grid points): PROJ at every `spacing`-th
// point (the knots) and at the middle of each segment; the other points by cubic Lagrange
// interpolation through four knots. A segment whose interpolated middle is more than `tolerance_x`
// / `tolerance_y` from PROJ's (a seam, a failed point, strong curvature) is transformed exactly.
// The result is then within the tolerance everywhere a smooth mapping allows: with a tolerance of
// 1e-6 source pixels the resampled values equal per-point PROJ to float precision. Not thread-safe
// (one per thread, each with its own transformation).
class LineTransformer {
 public:
  LineTransformer(OGRCoordinateTransformation& ct, double tolerance_x, double tolerance_y, int spacing = 16);
  // Points (x0 + i·dx, y0 + i·dy), i in [0, n), transformed into out_x/out_y (n values each).
  void transform(double x0, double y0, double dx, double dy, std::size_t n, double* out_x, double* out_y);
  // PROJ calls made so far (for tests and benchmarks).
  std::size_t exact_points() const { return exact_; }

 private:
  OGRCoordinateTransformation& ct_;
  double tol_x_, tol_y_;
  std::size_t spacing_, exact_ = 0;
  std::vector<double> kx_, ky_, mx_, my_;
  std::vector<std::size_t> ki_, mi_;
};

}  // namespace qinling::raster
