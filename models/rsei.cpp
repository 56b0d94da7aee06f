#include "models/rsei.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace qinling::models {

using Matrix4 = std::array<std::array<double, kRseiIndicators>, kRseiIndicators>;

void Covariance4::merge(const Covariance4& o) {
  n_ += o.n_;
  for (int i = 0; i < kRseiIndicators; ++i) {
    sum_[i] += o.sum_[i];
    for (int j = i; j < kRseiIndicators; ++j) cross_[i][j] += o.cross_[i][j];
  }
}

std::array<double, kRseiIndicators> Covariance4::mean() const {
  std::array<double, kRseiIndicators> m{};
  for (int i = 0; i < kRseiIndicators; ++i) m[i] = n_ > 0 ? sum_[i] / double(n_) : NAN;
  return m;
}

Matrix4 Covariance4::covariance() const {
  Matrix4 c{};
  const double n = double(n_);
  for (int i = 0; i < kRseiIndicators; ++i)
    for (int j = i; j < kRseiIndicators; ++j)
      c[i][j] = c[j][i] = n > 1 ? (cross_[i][j] - sum_[i] * sum_[j] / n) / (n - 1) : NAN;
  return c;
}

Eigen4 symmetric_eigen(const Matrix4& m) {
  constexpr int k = kRseiIndicators;
  Matrix4 a = m, v{};
  for (int i = 0; i < k; ++i) v[i][i] = 1;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, diag = 0;
    for (int p = 0; p < k; ++p) {
      diag += a[p][p] * a[p][p];
      for (int q = p + 1; q < k; ++q) off += a[p][q] * a[p][q];
    }
    if (off <= 1e-30 * std::max(diag, 1e-300)) break;
    for (int p = 0; p < k; ++p) {
      for (int q = p + 1; q < k; ++q) {
        if (a[p][q] == 0) continue;
        // The rotation that zeroes a[p][q] (Golub & Van Loan, symmetric Schur decomposition).
        const double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const double t = (theta >= 0 ? 1 : -1) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int r = 0; r < k; ++r) {
          const double arp = a[r][p], arq = a[r][q];
          a[r][p] = c * arp - s * arq;
          a[r][q] = s * arp + c * arq;
        }
        for (int r = 0; r < k; ++r) {
          const double apr = a[p][r], aqr = a[q][r];
          a[p][r] = c * apr - s * aqr;
          a[q][r] = s * apr + c * aqr;
        }
        for (int r = 0; r < k; ++r) {
          const double vrp = v[r][p], vrq = v[r][q];
          v[r][p] = c * vrp - s * vrq;
          v[r][q] = s * vrp + c * vrq;
        }
      }
    }
  }
  std::array<int, k> order;
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return a[x][x] > a[y][y]; });
  Eigen4 e;
  for (int i = 0; i < k; ++i) {
    const int c = order[i];
    e.values[i] = a[c][c];
    int big = 0;
    for (int r = 0; r < k; ++r) {
      e.vectors[i][r] = v[r][c];
      if (std::abs(v[r][c]) > std::abs(v[big][c])) big = r;
    }
    if (v[big][c] < 0)
      for (auto& x : e.vectors[i]) x = -x;
  }
  return e;
}

int rsei_sign(const std::array<double, kRseiIndicators>& pc1, bool* mixed) {
  const double g = pc1[0], w = pc1[1];
  if (mixed) *mixed = (g < 0) != (w < 0);
  return g < 0 && w < 0 ? -1 : 1;
}

}  // namespace qinling::models
