// Whole-job checks once the grid is fixed: an absurd grid size (often a corrupt header of the input
// it came from) and an input that misses the grid (wrong CRS or place), which would otherwise fail
// late or give an output of nodata only, silently.
#pragma once

#include "pipeline/diagnostics.hpp"
#include "pipeline/plan.hpp"

namespace qinling::pipeline {

// Most pixels the analysis grid may have (4e10: 160 GB of float32 per band). Inputs may be larger:
// only the part under the grid is read.
inline constexpr double kMaxPixels = 4e10;

// Reports a grid larger than kMaxPixels, and each raster input file whose footprint, taken into the
// grid's CRS, misses the grid (files whose bounds cannot be transformed are not judged).
void check_input_rasters(const Plan& plan, Diagnostics& diag);

}  // namespace qinling::pipeline
