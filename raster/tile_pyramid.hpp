// Builds a tile pyramid in one pass: warps the layer once, row of tiles by row of tiles, onto the
// deepest level's grid, cuts those tiles, and builds every lower level from its four children.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "raster/colour_ramp.hpp"
#include "raster/tile_encode.hpp"
#include "raster/tile_matrix.hpp"
#include "raster/tile_source.hpp"

namespace qinling::raster {

// Receives encoded tiles, always from one thread, in a fixed order (rows top to bottom at the
// deepest level, each parent row as soon as its children are done).
class TileSink {
 public:
  virtual ~TileSink() = default;
  virtual void put(int z, int x, int y, const std::string& data) = 0;
};

struct PyramidOptions {
  const TileMatrixSet* tms = nullptr;
  ZoomRange zoom;
  int threads = 1;
  const RampRenderer* ramp = nullptr;  // required for value layers
  TileFormat format = TileFormat::png;
  // Fraction done in [0, 1]; may throw to cancel.
  std::function<void(double)> progress;
  // Optional shaded relief (one band, 0..255, e.g. terrain.hillshade or gdaldem hillshade of a DEM)
  // multiplied into the ramped colours of a value layer: colour * (1 - s + s * shade / 255).
  const TileSource* shade = nullptr;
  double shade_strength = 0.6;
};

struct PyramidResult {
  std::vector<TileRange> ranges;  // per level from zoom.min to zoom.max: the tiles the layer covers
  long long tiles_written = 0, tiles_empty = 0;
};

// Deterministic: the same tiles, in the same order, for any thread count.
PyramidResult build_pyramid(const TileSource& source, const Footprint& footprint, const PyramidOptions& options,
                            TileSink& sink);

}  // namespace qinling::raster
