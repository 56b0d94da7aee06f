#include "models/indices.hpp"

namespace qinling::models {

float ndbsi(float blue, float green, float red, float nir, float swir1) {
  const double si_num = (double(swir1) + red) - (double(nir) + blue);
  const double si_den = (double(swir1) + red) + (double(nir) + blue);
  const double a = double(swir1) + nir, b = double(nir) + red, c = double(green) + swir1;
  if (si_den == 0.0 || a == 0.0 || b == 0.0 || c == 0.0) return kNoData;
  const double x = 2.0 * swir1 / a, y = double(nir) / b + double(green) / c;
  if (x + y == 0.0) return kNoData;
  const double si = si_num / si_den, ibi = (x - y) / (x + y);
  const double r = (si + ibi) / 2.0;
  return std::isfinite(r) ? float(r) : kNoData;
}

void ndvi(const float* red, const float* nir, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = ndvi(red[i], nir[i]);
}

}  // namespace qinling::models
