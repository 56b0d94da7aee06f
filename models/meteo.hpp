// Pure meteorological formulas (no GDAL): lapse-rate adjustment, unit conversion, inverse-distance
// weighting and the least-squares line used to detrend station values against elevation.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace qinling::models {

inline constexpr double kStandardLapseRate = 6.5;  // K per km (ICAO standard atmosphere)

// Temperature moved from `from_elevation` to `to_elevation` (metres) at `lapse_rate` K/km:
// T - lapse/1000 × (to - from). NaN in → NaN out.
inline double lapse_adjust(double t, double from_elevation, double to_elevation, double lapse_rate) {
  return t - lapse_rate / 1000.0 * (to_elevation - from_elevation);
}

// physical(to) = value(from) × scale + offset.
struct LinearUnit {
  double scale = 1.0, offset = 0.0;
};
// The conversion between two unit spellings (K, degC/°C/C, degF, m, mm, kg m-2, Pa, hPa, m/s,
// precipitation rates kg m-2 s-1 = mm/s, mm/h, mm/d…);
// nullopt when they are not convertible. Equal units give the identity.
std::optional<LinearUnit> unit_conversion(const std::string& from, const std::string& to);
// A canonical spelling of a unit (e.g. "[C]" → "degC", "kg/(m^2)" → "mm"), or the input trimmed.
std::string canonical_unit(const std::string& unit);

// A point with a value in the grid's plane coordinates.
struct Station {
  double x = 0, y = 0, value = 0;
};

struct IdwOptions {
  double power = 2.0;
  double max_distance = 0;  // 0: unlimited
  std::size_t nearest = 0;  // 0: all stations within max_distance
};

// Inverse-distance weighted value at (x, y): Σ wᵢvᵢ / Σ wᵢ with wᵢ = 1/dᵢ^power over the eligible
// stations (the `nearest` closest within `max_distance`, ties broken by station order). A point
// on a station gets that station's value. NaN when no station is eligible.
double idw(const std::vector<Station>& stations, double x, double y, const IdwOptions& options);

// Least-squares line value = intercept + slope × x; slope 0 and intercept = mean when x has no
// spread or fewer than two points are given.
struct LinearFit {
  double intercept = 0, slope = 0;
  std::size_t n = 0;
};
LinearFit fit_line(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace qinling::models
