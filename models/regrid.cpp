#include "models/regrid.hpp"

#include <cmath>
#include <limits>

namespace qinling::models {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Keys' cubic convolution kernel with a = −0.5.
double keys(double t) {
  t = std::fabs(t);
  if (t < 1) return (1.5 * t - 2.5) * t * t + 1;
  if (t < 2) return ((-0.5 * t + 2.5) * t - 4) * t + 2;
  return 0;
}

}  // namespace

float SourceLattice::at(long long col, long long row) const {
  if (row < 0 || row >= full_height) return std::numeric_limits<float>::quiet_NaN();
  if (wrap_x) col = ((col % full_width) + full_width) % full_width;
  const long long c = col - col0, r = row - row0;
  if (c < 0 || r < 0 || c >= width || r >= height) return std::numeric_limits<float>::quiet_NaN();
  return values[std::size_t(r) * std::size_t(width) + std::size_t(c)];
}

double sample_nearest(const SourceLattice& s, double px, double py) {
  if (!std::isfinite(px) || !std::isfinite(py)) return kNaN;
  return s.at(static_cast<long long>(std::floor(px)), static_cast<long long>(std::floor(py)));
}

double sample_bilinear(const SourceLattice& s, double px, double py) {
  if (!std::isfinite(px) || !std::isfinite(py)) return kNaN;
  const double u = px - 0.5, v = py - 0.5;
  const double fu = std::floor(u), fv = std::floor(v);
  const auto c = static_cast<long long>(fu), r = static_cast<long long>(fv);
  const double du = u - fu, dv = v - fv;
  const double w[4] = {(1 - du) * (1 - dv), du * (1 - dv), (1 - du) * dv, du * dv};
  const float val[4] = {s.at(c, r), s.at(c + 1, r), s.at(c, r + 1), s.at(c + 1, r + 1)};
  double sw = 0, swv = 0;
  for (int k = 0; k < 4; ++k)
    if (w[k] > 0 && std::isfinite(val[k])) {
      sw += w[k];
      swv += w[k] * val[k];
    }
  // A point beyond the outermost centres but inside the raster keeps the edge value (as GDAL).
  if (sw == 0) return sample_nearest(s, px, py);
  return swv / sw;
}

double sample_cubic(const SourceLattice& s, double px, double py) {
  if (!std::isfinite(px) || !std::isfinite(py)) return kNaN;
  const double u = px - 0.5, v = py - 0.5;
  const double fu = std::floor(u), fv = std::floor(v);
  const auto c = static_cast<long long>(fu), r = static_cast<long long>(fv);
  const double du = u - fu, dv = v - fv;
  double wx[4], wy[4];
  for (int k = 0; k < 4; ++k) {
    wx[k] = keys(du - (k - 1));
    wy[k] = keys(dv - (k - 1));
  }
  double sum = 0;
  for (int j = 0; j < 4; ++j) {
    double row = 0;
    for (int i = 0; i < 4; ++i) {
      const float val = s.at(c + i - 1, r + j - 1);
      if (!std::isfinite(val)) return sample_bilinear(s, px, py);
      row += wx[i] * val;
    }
    sum += wy[j] * row;
  }
  return sum;
}

double lonlat_quad_area(const double lon[4], const double lat[4], double radius) {
  constexpr double deg = 3.14159265358979323846 / 180.0;
  const double y[4] = {std::sin(lat[0] * deg), std::sin(lat[1] * deg), std::sin(lat[2] * deg), std::sin(lat[3] * deg)};
  return lonlat_quad_area_sin(lon, y, radius);
}

double lonlat_quad_area_sin(const double lon[4], const double y[4], double radius) {
  constexpr double deg = 3.14159265358979323846 / 180.0;
  double x[4];
  for (int k = 0; k < 4; ++k) {
    double l = lon[k] - lon[0];  // relative to the first corner: a cell across the antimeridian stays small
    if (l > 180) l -= 360;
    if (l < -180) l += 360;
    x[k] = l * deg;
  }
  double a = 0;
  for (int k = 0; k < 4; ++k) a += x[k] * y[(k + 1) % 4] - x[(k + 1) % 4] * y[k];
  return 0.5 * std::fabs(a) * radius * radius;
}

}  // namespace qinling::models
