// Regridding one band of any georeferenced raster onto the analysis grid with our own kernels
// (nearest, bilinear, cubic, conservative area average): the source is cropped to the region
// first, and global longitude grids (0–360° or −180–180°) wrap around the antimeridian.
#pragma once

#include <string>

#include "models/regrid.hpp"
#include "raster/coord_transform.hpp"
#include "raster/grid.hpp"
#include "raster/source.hpp"

namespace qinling::raster {

enum class RegridMethod { nearest, bilinear, cubic, conservative };
// "nearest" | "bilinear" | "cubic" | "conservative"; throws ConfigError otherwise.
RegridMethod parse_regrid_method(const std::string& name);

class Regridder {
 public:
  // Reads the part of `src` the target grid needs (nodata → NaN, the band's scale/offset and
  // src.scale/offset applied). `samples`: sub-cells per target cell side for the conservative
  // method (0: enough that each source cell gets several samples, at most 32).
  Regridder(const BandSource& src, const Grid& target, RegridMethod method, int samples = 0);
  // Fills window.pixels() values of the target grid, rows in parallel (TBB). Thread-safe;
  // deterministic. Source coordinates come from PROJ at every 16th cell of a row and cubic
  // interpolation between, checked to 1e-6 source pixels (raster/coord_transform.hpp).
  void regrid(const Window& window, float* out) const;

  const models::SourceLattice& lattice() const { return lattice_; }
  bool geographic() const { return geographic_; }
  int samples() const { return samples_; }

 private:
  Grid target_;
  std::string path_;
  std::array<double, 6> src_gt_{};
  RegridMethod method_;
  bool geographic_ = false;
  int samples_ = 1;
  models::SourceLattice lattice_;
  TransformPtr to_src_, to_lonlat_;  // created once (a PROJ database search), cloned per task
};

}  // namespace qinling::raster
