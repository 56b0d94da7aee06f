// The region boundary and protected-zone polygons of the synthetic sample scene, and their GeoJSON.
//
// Shapes are defined in scene fractions (u = col/N, v = row/N), so they scale with N; the seed
// only wobbles their outlines, within the stated bounds, so containment never depends on it.
//   boundary:      a blob centred at (0.50, 0.55) with semi-axes 0.45 (E–W) × 0.40 (N–S) × (1 ± 0.06).
//   zone_id 1 Taibaishan   national    centre (0.34, 0.50) radius 0.11 × (1 ± 0.12)  (the high massif)
//   zone_id 2 Foping       national    centre (0.63, 0.42) radius 0.08 × (1 ± 0.12)  (holds the clearing)
//   zone_id 3 Changqing    national    centre (0.45, 0.70) radius 0.09 × (1 ± 0.12)  (holds the burn scar)
//   zone_id 4 Huangbaiyuan provincial  centre (0.26, 0.72) radius 0.07 × (1 ± 0.12)
// The zones do not overlap and lie inside the boundary; the new reservoir is inside the boundary
// and outside every zone.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "raster/grid.hpp"

namespace qinling::vector {

// A closed ring (first point == last) in pixel coordinates (col, row) of the sample grid.
using PixelRing = std::vector<std::array<double, 2>>;

struct SampleZone {
  int zone_id = 0;
  std::string name, level;  // level: "national" or "provincial"
  PixelRing ring;
};

PixelRing sample_boundary(int size, std::uint64_t seed);
std::vector<SampleZone> sample_zones(int size, std::uint64_t seed);

// Even-odd rule; points exactly on an edge may go either way.
bool ring_contains(const PixelRing& ring, double col, double row);

// GeoJSON through GDAL's driver with RFC7946=YES: WGS 84 lon/lat, counter-clockwise exteriors.
// The boundary is one feature with a `name`; zones carry `name`, `level` and integer `zone_id`.
// Both write `path` directly (callers rename a temporary file) and throw ProcessingError.
void write_boundary_geojson(const std::string& path, const raster::Grid& grid, const PixelRing& boundary);
void write_zones_geojson(const std::string& path, const raster::Grid& grid,
                         const std::vector<SampleZone>& zones);

}  // namespace qinling::vector
