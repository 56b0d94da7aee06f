// Terrain derivatives on a 3×3 window (Horn 1981, the method of gdaldem): slope, aspect and
// hillshade. `w` is the window row by row (w[0] north-west … w[8] south-east); any NaN → NaN.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

namespace qinling::models {

inline constexpr float kNoDataTerrain = std::numeric_limits<float>::quiet_NaN();

struct Gradient {
  double dzdx = 0, dzdy = 0;  // east and south components of the surface gradient
};

// Horn's weighted differences: dz/dx from the east minus west columns, dz/dy from the south
// minus north rows, each (1,2,1)-weighted and divided by 8 × the pixel size.
// The (1,2,1) sums are formed in float, as gdaldem does for float DEMs, so that on nearly flat
// ground (where the aspect is ill-conditioned) both tools agree to hundredths of a degree.
inline double horn_dx(const float* w) { return double((w[2] + w[5] + w[5] + w[8]) - (w[0] + w[3] + w[3] + w[6])); }
inline double horn_dy(const float* w) { return double((w[6] + w[7] + w[7] + w[8]) - (w[0] + w[1] + w[1] + w[2])); }

inline Gradient horn_gradient(const float* w, double res_x, double res_y) {
  return {horn_dx(w) / (8.0 * res_x), horn_dy(w) / (8.0 * res_y)};
}

inline bool any_nan9(const float* w) {
  for (int i = 0; i < 9; ++i)
    if (std::isnan(w[i])) return true;
  return false;
}

// Slope in degrees, 0 = flat.
inline float slope_degrees(const float* w, double res_x, double res_y) {
  if (any_nan9(w)) return std::numeric_limits<float>::quiet_NaN();
  const Gradient g = horn_gradient(w, res_x, res_y);
  return float(std::atan(std::sqrt(g.dzdx * g.dzdx + g.dzdy * g.dzdy)) * 180.0 / M_PI);
}

// Aspect as an azimuth in degrees clockwise from north (0–360) of the downslope direction;
// NaN on flat ground, as gdaldem without -zero_for_flat.
inline float aspect_degrees(const float* w) {
  if (any_nan9(w)) return std::numeric_limits<float>::quiet_NaN();
  const double dx = horn_dx(w), dy = horn_dy(w);
  if (dx == 0 && dy == 0) return std::numeric_limits<float>::quiet_NaN();
  // Mathematical angle of the downslope vector (−dx, dy in image rows), turned into an azimuth.
  float a = float(std::atan2(dy, -dx) * 180.0 / M_PI);
  a = a > 90.0f ? 450.0f - a : 90.0f - a;
  return a == 360.0f ? 0.0f : a;
}

// Hillshade 1–255 for a sun at `azimuth` (degrees clockwise from north) and `altitude` (degrees
// above the horizon), `z` the vertical exaggeration: 1 + 254 × cos(angle between the surface
// normal and the sun), 1 where the sun does not reach — gdaldem's scale. NaN where any is NaN.
inline float hillshade(const float* w, double res_x, double res_y, double azimuth = 315, double altitude = 45,
                       double z = 1) {
  if (any_nan9(w)) return std::numeric_limits<float>::quiet_NaN();
  constexpr double d2r = M_PI / 180.0;
  const Gradient g = horn_gradient(w, res_x, res_y);
  const double p = g.dzdx * z, q = -g.dzdy * z;  // slopes towards east and north
  const double az = azimuth * d2r, alt = altitude * d2r;
  // normal (-p, -q, 1)/|n| · sun (sin az cos alt, cos az cos alt, sin alt)
  const double cang =
      (std::sin(alt) - p * std::sin(az) * std::cos(alt) - q * std::cos(az) * std::cos(alt)) / std::sqrt(1 + p * p + q * q);
  return cang <= 0 ? 1.0f : float(1.0 + 254.0 * cang);
}

}  // namespace qinling::models
