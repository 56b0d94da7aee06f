// The footprint layer of an aerial mosaic: each frame's outline on the ground with how it was
// placed (registered or by georeference), its matches, inliers, residuals and gains (GeoPackage).
#pragma once

#include <string>
#include <vector>

#include "raster/aerial_place.hpp"
#include "raster/grid.hpp"

namespace qinling::raster {

// Writes `path` (layer "footprints", the grid's CRS) under a temporary name, renamed when
// complete. Dropped frames with a known placement keep their outline; others have no geometry.
void write_footprints(const std::string& path, const Grid& grid, const std::vector<PlacedFrame>& frames);

}  // namespace qinling::raster
