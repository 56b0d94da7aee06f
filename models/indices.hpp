// Spectral index formulas, pure and vectorisable; NaN in, or an undefined ratio, gives NaN out.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>

namespace qinling::models {

inline constexpr float kNoData = std::numeric_limits<float>::quiet_NaN();

// Normalised difference (a - b) / (a + b), evaluated in double so that float inputs reproduce
// numpy's float64 result to the last float bit. A zero denominator gives NaN, never 0 or inf.
inline float normalized_difference(float a, float b) {
  const double num = double(a) - double(b);
  const double den = double(a) + double(b);
  return den == 0.0 ? kNoData : float(num / den);  // NaN inputs propagate through num/den.
}

// NDVI = (NIR - Red) / (NIR + Red) — Rouse et al. 1974.
inline float ndvi(float red, float nir) { return normalized_difference(nir, red); }

// Array form used by the raster steps: out[i] = ndvi(red[i], nir[i]).
void ndvi(const float* red, const float* nir, float* out, std::size_t n);

}  // namespace qinling::models
