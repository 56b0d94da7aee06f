// Remote Sensing Ecological Index (Xu 2013): per-indicator normalisation, a 4×4 covariance
// accumulated block by block, its eigen-decomposition, and the PC1 sign rule.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace qinling::models {

// The four RSEI indicators in their fixed order.
inline constexpr int kRseiIndicators = 4;
inline constexpr std::array<const char*, kRseiIndicators> kRseiNames = {"greenness", "wetness", "heat",
                                                                        "dryness"};

// Rescales `v` from [lo, hi] to [0, 1], clamped (fixed bounds may not contain every pixel).
inline double normalise(double v, double lo, double hi) {
  const double t = (v - lo) / (hi - lo);
  return t < 0 ? 0 : t > 1 ? 1 : t;
}

// Sums for a covariance matrix of 4 variables. Values are normalised to [0, 1], so plain sums of
// x and x·xᵀ in double are exact enough; merge in a fixed order for identical results.
class Covariance4 {
 public:
  void add(const double* x) {
    ++n_;
    for (int i = 0; i < kRseiIndicators; ++i) {
      sum_[i] += x[i];
      for (int j = i; j < kRseiIndicators; ++j) cross_[i][j] += x[i] * x[j];
    }
  }
  void merge(const Covariance4& o);
  std::int64_t count() const { return n_; }
  // The sample covariance (divided by n - 1); needs count() >= 2.
  std::array<std::array<double, kRseiIndicators>, kRseiIndicators> covariance() const;
  std::array<double, kRseiIndicators> mean() const;

 private:
  std::int64_t n_ = 0;
  std::array<double, kRseiIndicators> sum_{};
  std::array<std::array<double, kRseiIndicators>, kRseiIndicators> cross_{};
};

// Eigenvalues (descending) and unit eigenvectors (vectors[k] belongs to values[k]) of a symmetric
// 4×4 matrix by cyclic Jacobi rotations. Each vector's sign is fixed so that its largest-magnitude
// component is positive (numpy and LAPACK leave the sign arbitrary).
struct Eigen4 {
  std::array<double, kRseiIndicators> values{};
  std::array<std::array<double, kRseiIndicators>, kRseiIndicators> vectors{};
};
Eigen4 symmetric_eigen(const std::array<std::array<double, kRseiIndicators>, kRseiIndicators>& m);

// Xu's sign rule: PC1 is used as is when greenness and wetness load positively; 1 - PC1 (here:
// -PC1 before the final min/max rescale, which is the same) only when both load negatively.
// Returns +1 or -1; `mixed` is set when the two loadings have opposite signs (then +1: the
// result is ecologically ambiguous and worth a warning).
int rsei_sign(const std::array<double, kRseiIndicators>& pc1, bool* mixed);

}  // namespace qinling::models
