// Streams an orthomosaic of placed aerial frames onto the analysis grid block row by block row:
// each output pixel is the feather-weighted mean of the gain-corrected frames covering it, so
// only the frames crossing the current block row are held in memory.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "raster/aerial_place.hpp"
#include "raster/grid.hpp"
#include "raster/writer.hpp"

namespace qinling::raster {

struct MosaicTarget {
  std::string path, format;  // cog | gtiff
  CreationOptions options;
};

struct BlendOptions {
  // Weight of a frame pixel: (distance to the frame edge / half the frame's shorter side)^power.
  // A high power narrows the transition towards a seam in the middle of each overlap.
  double feather_power = 2;
  int threads = 1;
};

struct BlendTargets {
  std::vector<MosaicTarget> rgba;  // 4-band Byte, alpha 0 outside every footprint
  std::string exg, vari;           // float32 NaN-nodata layers (empty: not written)
  std::string index_format = "cog";
};

// Writes every target (each under a temporary name, renamed when complete). Returns the blending
// time in seconds (without the COG encoding).
double blend_mosaic(const Grid& grid, const std::vector<PlacedFrame>& frames, const BlendTargets& targets,
                    const BlendOptions& options, const std::function<void(double)>& progress);

}  // namespace qinling::raster
