// Spectral index formulas, pure and vectorisable; NaN in, or an undefined ratio, gives NaN out.
// Inputs are surface reflectance (0–1) for indices with constants (EVI, SAVI, MSAVI2); the
// normalised differences are scale-free.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace qinling::models {

inline constexpr float kNoData = std::numeric_limits<float>::quiet_NaN();

// Normalised difference (a - b) / (a + b), evaluated in double so that float inputs reproduce
// numpy's float64 result to the last float bit. A zero denominator gives NaN, never 0 or inf.
inline float normalized_difference(float a, float b) {
  const double num = double(a) - double(b);
  const double den = double(a) + double(b);
  return den == 0.0 ? kNoData : float(num / den);  // NaN inputs propagate through num/den.
}

// A ratio that is nodata when the denominator is 0 or the result is not finite.
inline float safe_ratio(double num, double den) {
  if (den == 0.0) return kNoData;
  const double r = num / den;
  return std::isfinite(r) ? float(r) : kNoData;
}

// NDVI = (NIR - Red) / (NIR + Red) — Rouse et al. 1974.
inline float ndvi(float red, float nir) { return normalized_difference(nir, red); }

// EVI = 2.5 (NIR - Red) / (NIR + 6 Red - 7.5 Blue + 1) — Huete et al. 2002 (MODIS EVI).
inline float evi(float blue, float red, float nir) {
  return safe_ratio(2.5 * (double(nir) - red), double(nir) + 6.0 * red - 7.5 * blue + 1.0);
}

// SAVI = (1 + L) (NIR - Red) / (NIR + Red + L), L = 0.5 — Huete 1988.
inline float savi(float red, float nir, double l = 0.5) {
  return safe_ratio((1.0 + l) * (double(nir) - red), double(nir) + red + l);
}

// MSAVI2 = (2 NIR + 1 - sqrt((2 NIR + 1)^2 - 8 (NIR - Red))) / 2 — Qi et al. 1994.
inline float msavi2(float red, float nir) {
  const double a = 2.0 * nir + 1.0;
  const double d = a * a - 8.0 * (double(nir) - red);
  if (!(d >= 0.0)) return kNoData;
  return float((a - std::sqrt(d)) / 2.0);
}

// NDWI = (Green - NIR) / (Green + NIR) — McFeeters 1996 (open water).
inline float ndwi(float green, float nir) { return normalized_difference(green, nir); }

// MNDWI = (Green - SWIR1) / (Green + SWIR1) — Xu 2006.
inline float mndwi(float green, float swir1) { return normalized_difference(green, swir1); }

// NBR = (NIR - SWIR2) / (NIR + SWIR2) — Key & Benson 2006.
inline float nbr(float nir, float swir2) { return normalized_difference(nir, swir2); }

// NDBI = (SWIR1 - NIR) / (SWIR1 + NIR) — Zha et al. 2003 (built-up).
inline float ndbi(float nir, float swir1) { return normalized_difference(swir1, nir); }

// NDBSI = (SI + IBI) / 2, the RSEI dryness component — Xu 2013 (Remote Sensing Ecological Index):
// SI  = ((SWIR1 + Red) - (NIR + Blue)) / ((SWIR1 + Red) + (NIR + Blue))   (bare soil index)
// IBI = (2 SWIR1/(SWIR1+NIR) - (NIR/(NIR+Red) + Green/(Green+SWIR1)))
//     / (2 SWIR1/(SWIR1+NIR) + (NIR/(NIR+Red) + Green/(Green+SWIR1)))     (index-based built-up)
float ndbsi(float blue, float green, float red, float nir, float swir1);

// Array forms used by the raster steps: out[i] = f(in[0][i], in[1][i], …) in the argument order
// of the scalar functions above.
void ndvi(const float* red, const float* nir, float* out, std::size_t n);
using IndexKernel = void (*)(const std::vector<const float*>& in, float* out, std::size_t n);

}  // namespace qinling::models
