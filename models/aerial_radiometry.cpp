#include "models/aerial_radiometry.hpp"

#include <cmath>
#include <limits>
#include <utility>

namespace qinling::models {
namespace {

// Solves A x = b in place by Gaussian elimination with partial pivoting (A is small: one row
// per frame, symmetric positive definite thanks to the prior).
std::vector<double> solve_dense(std::vector<double> a, std::vector<double> b, std::size_t n) {
  for (std::size_t c = 0; c < n; ++c) {
    std::size_t p = c;
    for (std::size_t r = c + 1; r < n; ++r)
      if (std::abs(a[r * n + c]) > std::abs(a[p * n + c])) p = r;
    if (p != c) {
      for (std::size_t k = 0; k < n; ++k) std::swap(a[c * n + k], a[p * n + k]);
      std::swap(b[c], b[p]);
    }
    const double d = a[c * n + c];
    for (std::size_t r = c + 1; r < n; ++r) {
      const double f = a[r * n + c] / d;
      if (f == 0) continue;
      for (std::size_t k = c; k < n; ++k) a[r * n + k] -= f * a[c * n + k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n);
  for (std::size_t c = n; c-- > 0;) {
    double s = b[c];
    for (std::size_t k = c + 1; k < n; ++k) s -= a[c * n + k] * x[k];
    x[c] = s / a[c * n + c];
  }
  return x;
}

}  // namespace

std::vector<double> solve_gains(std::size_t frames, const std::vector<OverlapMeans>& overlaps, double sigma_n,
                                double sigma_g) {
  const std::size_t n = frames;
  std::vector<double> a(n * n, 0.0), b(n, 0.0);
  const double in = 1.0 / (sigma_n * sigma_n), ig = 1.0 / (sigma_g * sigma_g);
  double sum = 0, count = 0;
  for (const auto& o : overlaps)
    if (o.pixels > 0) {
      sum += o.mean_i + o.mean_j;
      count += 2;
    }
  const double scale = sum > 0 ? count / sum : 1.0;
  for (const auto& o : overlaps) {
    if (o.i >= n || o.j >= n || o.i == o.j || !(o.pixels > 0)) continue;
    // d/dg of N[(g_i m_ij - g_j m_ji)^2 in + (1 - g_i)^2 ig + (1 - g_j)^2 ig] = 0
    const double w = o.pixels, mi = o.mean_i * scale, mj = o.mean_j * scale;
    a[o.i * n + o.i] += w * (mi * mi * in + ig);
    a[o.j * n + o.j] += w * (mj * mj * in + ig);
    a[o.i * n + o.j] -= w * mi * mj * in;
    a[o.j * n + o.i] -= w * mi * mj * in;
    b[o.i] += w * ig;
    b[o.j] += w * ig;
  }
  for (std::size_t k = 0; k < n; ++k)
    if (a[k * n + k] == 0.0) {  // no overlap: keep the frame as it is
      a[k * n + k] = 1.0;
      b[k] = 1.0;
    }
  return solve_dense(std::move(a), std::move(b), n);
}

float excess_green(float r, float g, float b) {
  const double sum = double(r) + g + b;
  if (!(sum > 0)) return std::numeric_limits<float>::quiet_NaN();
  return float((2.0 * g - r - b) / sum);
}

float vari(float r, float g, float b) {
  const double den = double(g) + r - b;
  if (den == 0.0 || std::isnan(den)) return std::numeric_limits<float>::quiet_NaN();
  const double v = (double(g) - r) / den;
  return std::isfinite(v) ? float(v) : std::numeric_limits<float>::quiet_NaN();
}

}  // namespace qinling::models
