#include "raster/coord_transform.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "models/errors.hpp"

namespace qinling::raster {

TransformPtr make_transform(const OGRSpatialReference& from, const OGRSpatialReference& to,
                            const std::string& what) {
  OGRSpatialReference f(from), t(to);
  f.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  t.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  TransformPtr ct(OGRCreateCoordinateTransformation(&f, &t));
  if (!ct)
    throw ProcessingError(what + ": PROJ has no transformation between the two coordinate reference systems");
  return ct;
}

TransformPtr make_transform(const std::string& from_wkt, const std::string& to_wkt, const std::string& what) {
  OGRSpatialReference f, t;
  if (f.importFromWkt(from_wkt.c_str()) != OGRERR_NONE || t.importFromWkt(to_wkt.c_str()) != OGRERR_NONE)
    throw ProcessingError(what + ": a coordinate reference system is not valid WKT");
  return make_transform(f, t, what);
}

TransformPtr make_inverse_transform(const OGRSpatialReference& from, const OGRSpatialReference& to,
                                    const std::string& what) {
  const TransformPtr forward = make_transform(to, from, what);
  TransformPtr inverse(forward->GetInverse());
  return inverse ? std::move(inverse) : make_transform(from, to, what);
}

TransformPtr clone_transform(const OGRCoordinateTransformation& ct) {
  TransformPtr c(ct.Clone());
  if (!c) throw ProcessingError("cannot copy a coordinate transformation");
  return c;
}

void transform_points(OGRCoordinateTransformation& ct, double* x, double* y, std::size_t n) {
  if (n == 0) return;
  std::vector<int> ok(n, 0);
  ct.Transform(n, x, y, nullptr, ok.data());
  for (std::size_t i = 0; i < n; ++i)
    if (!ok[i] || !std::isfinite(x[i]) || !std::isfinite(y[i]))
      x[i] = y[i] = std::numeric_limits<double>::quiet_NaN();
}

LineTransformer::LineTransformer(OGRCoordinateTransformation& ct, double tolerance_x, double tolerance_y,
                                 int spacing)
    : ct_(ct), tol_x_(tolerance_x), tol_y_(tolerance_y), spacing_(std::size_t(std::max(2, spacing))) {}

void LineTransformer::transform(double x0, double y0, double dx, double dy, std::size_t n, double* out_x,
                                double* out_y) {
  auto exact = [&](std::size_t a, std::size_t b) {  // points [a, b) straight through PROJ
    for (std::size_t i = a; i < b; ++i) {
      out_x[i] = x0 + double(i) * dx;
      out_y[i] = y0 + double(i) * dy;
    }
    transform_points(ct_, out_x + a, out_y + a, b - a);
    exact_ += b - a;
  };
  if (n < 4 * spacing_) {
    exact(0, n);
    return;
  }
  // Knots every `spacing` points and the last point; the middle of each segment as the check.
  ki_.clear();
  for (std::size_t i = 0; i < n - 1; i += spacing_) ki_.push_back(i);
  if (n - 1 - ki_.back() < spacing_ / 2)
    ki_.back() = n - 1;  // no sliver segment at the end
  else
    ki_.push_back(n - 1);
  const std::size_t m = ki_.size();
  kx_.resize(m), ky_.resize(m), mx_.resize(m - 1), my_.resize(m - 1), mi_.resize(m - 1);
  for (std::size_t k = 0; k < m; ++k) {
    kx_[k] = x0 + double(ki_[k]) * dx;
    ky_[k] = y0 + double(ki_[k]) * dy;
  }
  for (std::size_t k = 0; k + 1 < m; ++k) {
    mi_[k] = (ki_[k] + ki_[k + 1]) / 2;
    mx_[k] = x0 + double(mi_[k]) * dx;
    my_[k] = y0 + double(mi_[k]) * dy;
  }
  transform_points(ct_, kx_.data(), ky_.data(), m);
  transform_points(ct_, mx_.data(), my_.data(), m - 1);
  exact_ += 2 * m - 1;
  for (std::size_t k = 0; k < m; ++k) out_x[ki_[k]] = kx_[k], out_y[ki_[k]] = ky_[k];

  for (std::size_t k = 0; k + 1 < m; ++k) {
    const std::size_t a = ki_[k], b = ki_[k + 1];
    // Four knots around the segment (m ≥ 4 since n ≥ 4 × spacing).
    const std::size_t k0 = std::min(k > 0 ? k - 1 : 0, m - 4);
    double t[4], sx[4], sy[4];
    bool finite = true;
    for (int j = 0; j < 4; ++j) {
      t[j] = double(ki_[k0 + std::size_t(j)]);
      sx[j] = kx_[k0 + std::size_t(j)];
      sy[j] = ky_[k0 + std::size_t(j)];
      finite = finite && std::isfinite(sx[j]) && std::isfinite(sy[j]);
    }
    auto interpolate = [&](double i, double& ox, double& oy) {
      ox = oy = 0;
      for (int j = 0; j < 4; ++j) {
        double w = 1;
        for (int l = 0; l < 4; ++l)
          if (l != j) w *= (i - t[l]) / (t[j] - t[l]);
        ox += w * sx[j];
        oy += w * sy[j];
      }
    };
    bool smooth = finite && std::isfinite(mx_[k]) && std::isfinite(my_[k]);
    if (smooth) {
      double ix, iy;
      interpolate(double(mi_[k]), ix, iy);
      smooth = std::fabs(ix - mx_[k]) <= tol_x_ && std::fabs(iy - my_[k]) <= tol_y_;
    }
    if (!smooth) {
      exact(a + 1, b);
      continue;
    }
    for (std::size_t i = a + 1; i < b; ++i) interpolate(double(i), out_x[i], out_y[i]);
    out_x[mi_[k]] = mx_[k], out_y[mi_[k]] = my_[k];
  }
}

}  // namespace qinling::raster
