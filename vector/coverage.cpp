#include "vector/coverage.hpp"

#include <algorithm>
#include <cmath>

#include "models/errors.hpp"

namespace qinling::vector {

PixelTransform::PixelTransform(const raster::Grid& grid) {
  const auto& g = grid.geotransform;
  const double det = g[1] * g[5] - g[2] * g[4];
  if (det == 0) throw InputError("the raster's geotransform cannot be inverted");
  // inverse of [x - g0, y - g3] = M [col, row], M = [[g1, g2], [g4, g5]]
  inverse[1] = g[5] / det;
  inverse[2] = -g[2] / det;
  inverse[4] = -g[4] / det;
  inverse[5] = g[1] / det;
  inverse[0] = -(inverse[1] * g[0] + inverse[2] * g[3]);
  inverse[3] = -(inverse[4] * g[0] + inverse[5] * g[3]);
  orientation = det < 0 ? 1.0 : -1.0;
}

raster::Window pixel_bounds(const Shape& s, const PixelTransform& t) {
  double c0 = 1e300, r0 = 1e300, c1 = -1e300, r1 = -1e300;
  for (const auto& p : s.points) {
    const Point q = t(p);
    c0 = std::min(c0, q[0]);
    c1 = std::max(c1, q[0]);
    r0 = std::min(r0, q[1]);
    r1 = std::max(r1, q[1]);
  }
  if (s.points.empty()) return {};
  const double lim = 1e9;  // far outside any raster; keeps the int conversion defined
  c0 = std::clamp(c0, -lim, lim), c1 = std::clamp(c1, -lim, lim), r0 = std::clamp(r0, -lim, lim),
  r1 = std::clamp(r1, -lim, lim);
  const int x0 = int(std::floor(c0)), y0 = int(std::floor(r0));
  return {x0, y0, int(std::ceil(c1)) - x0, int(std::ceil(r1)) - y0};
}

namespace {

// Adds one straight piece that stays within row `row` (local) to the increments.
inline void add_piece(double* acc_row, int width, double xa, double ya, double xb, double yb) {
  const double h = yb - ya;
  if (h == 0) return;
  // Cut at integer columns so each part lies within one pixel column.
  const double lo = std::min(xa, xb), hi = std::max(xa, xb);
  const int k0 = int(std::floor(lo)) + 1, k1 = int(std::ceil(hi)) - 1;
  auto part = [&](double x0, double y0, double x1, double y1) {
    const double hh = y1 - y0;
    if (hh == 0) return;
    const double xm = (x0 + x1) / 2;
    const int c = int(std::floor(xm));
    if (c < 0) {
      acc_row[0] += hh;  // every pixel of the window lies to the right
    } else if (c < width) {
      const double inside = c + 1 - xm;  // share of pixel c to the right of the piece
      acc_row[c] += hh * inside;
      acc_row[c + 1] += hh * (1 - inside);
    }
  };
  if (k0 > k1) {
    part(xa, ya, xb, yb);
    return;
  }
  const double slope = (yb - ya) / (xb - xa);
  double px = xa, py = ya;
  if (xb > xa) {
    for (int k = k0; k <= k1; ++k) {
      const double y = ya + (k - xa) * slope;
      part(px, py, k, y);
      px = k, py = y;
    }
  } else {
    for (int k = k1; k >= k0; --k) {
      const double y = ya + (k - xa) * slope;
      part(px, py, k, y);
      px = k, py = y;
    }
  }
  part(px, py, xb, yb);
}

}  // namespace

void coverage_fractions(const Shape& s, const PixelTransform& t, const raster::Window& w,
                        std::vector<double>& acc, std::vector<float>& out) {
  const int stride = w.width + 1;
  acc.assign(std::size_t(stride) * w.height, 0.0);
  out.assign(std::size_t(w.pixels()), 0.0f);
  if (w.width <= 0 || w.height <= 0) return;
  for (std::size_t r = 0; r < s.rings(); ++r) {
    const std::size_t b = s.ring_begin(r), e = s.ring_ends[r];
    Point prev = t(s.points[b]);
    prev[0] -= w.x, prev[1] -= w.y;
    for (std::size_t i = b + 1; i < e; ++i) {
      Point cur = t(s.points[i]);
      cur[0] -= w.x, cur[1] -= w.y;
      const double y_lo = std::max(std::min(prev[1], cur[1]), 0.0);
      const double y_hi = std::min(std::max(prev[1], cur[1]), double(w.height));
      if (y_lo < y_hi && prev[1] != cur[1]) {
        const double dxdy = (cur[0] - prev[0]) / (cur[1] - prev[1]);
        const bool down = cur[1] > prev[1];
        const int r0 = int(std::floor(y_lo)), r1 = std::min(int(std::ceil(y_hi)), w.height);
        for (int row = r0; row < r1; ++row) {
          const double top = std::max(y_lo, double(row)), bottom = std::min(y_hi, double(row + 1));
          if (top >= bottom) continue;
          // Keep the direction of travel: its sign tells inside from outside.
          const double ya = down ? top : bottom, yb = down ? bottom : top;
          add_piece(acc.data() + std::size_t(row) * stride, w.width, prev[0] + (ya - prev[1]) * dxdy, ya,
                    prev[0] + (yb - prev[1]) * dxdy, yb);
        }
      }
      prev = cur;
    }
  }
  const double sign = t.orientation;
  for (int row = 0; row < w.height; ++row) {
    double run = 0;
    const double* a = acc.data() + std::size_t(row) * stride;
    float* o = out.data() + std::size_t(row) * w.width;
    for (int c = 0; c < w.width; ++c) {
      run += a[c];
      o[c] = float(std::clamp(run * sign, 0.0, 1.0));
    }
  }
}

}  // namespace qinling::vector
