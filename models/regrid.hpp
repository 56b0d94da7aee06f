// Pure regridding kernels (no GDAL): nearest, bilinear and cubic sampling of a cropped source
// lattice that may wrap around the globe in x, and cell areas on the sphere for area averages.
#pragma once

#include <cstddef>
#include <vector>

namespace qinling::models {

// The mean Earth radius of the authalic sphere of WGS84 (m): areas on it equal ellipsoidal areas
// in total, which is what a conserved precipitation volume needs.
inline constexpr double kAuthalicRadius = 6371007.181;

// A window of a source raster in memory: rows [row0, row0+height), columns [col0, col0+width) of a
// source `full_width` columns wide. With `wrap_x` (a global grid in longitude) column indices are
// taken modulo full_width, so the window then holds every column (col0 = 0, width = full_width).
// NaN marks missing values.
struct SourceLattice {
  int col0 = 0, row0 = 0, width = 0, height = 0, full_width = 0, full_height = 0;
  bool wrap_x = false;
  std::vector<float> values;  // row-major, width × height
  // The value at a source pixel (column, row) of the full source, or NaN when outside.
  float at(long long col, long long row) const;
};

// Sampling at fractional source pixel coordinates (px, py): pixel (c, r) spans [c, c+1) × [r, r+1),
// its centre is at (c + 0.5, r + 0.5), as in GDAL. NaN where no valid source value contributes.
double sample_nearest(const SourceLattice& s, double px, double py);
// Bilinear between the four surrounding centres; missing neighbours are left out and the weights
// of the others renormalised (GDAL's convention), so edges and nodata holes stay usable.
double sample_bilinear(const SourceLattice& s, double px, double py);
// Cubic convolution (Keys, a = −0.5, GDAL's "cubic") over 4 × 4 centres; falls back to bilinear
// when any of the 16 is missing.
double sample_cubic(const SourceLattice& s, double px, double py);

// The area (m²) on a sphere of `radius` of a small quadrilateral given by its corners in order
// (degrees): the shoelace area in Lambert's cylindrical equal-area coordinates (λ, sin φ), exact
// for cells bounded by meridians and parallels and second-order accurate for any small cell.
double lonlat_quad_area(const double lon[4], const double lat[4], double radius = kAuthalicRadius);
// The same with sin(latitude) of each corner given: the vertices of a mesh of cells are shared by
// four cells, so the regridder takes each sine once.
double lonlat_quad_area_sin(const double lon[4], const double sin_lat[4], double radius = kAuthalicRadius);

}  // namespace qinling::models
