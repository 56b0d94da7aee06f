// Exact, coverage-weighted zonal statistics of one raster band over many polygons, in one
// parallel pass over the raster's blocks with memory bounded by the number of polygons.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "models/zonal_stats.hpp"
#include "vector/shape.hpp"

namespace qinling::vector {

struct ZonalOptions {
  int threads = 1;
  std::int64_t window_pixels = 1 << 20;  // pixels read per task (whole native blocks)
  // Called after each window is merged with (windows done, windows total); may throw to cancel.
  std::function<void(std::size_t, std::size_t)> progress;
};

// One accumulator per shape (shapes in the raster's CRS). Pixels are weighted by the share of
// their area inside the shape; nodata pixels and the part of a shape outside the raster count
// as missing (they lower valid_fraction). Per-window partial accumulators are merged in window
// order, so the results are identical for any thread count.
std::vector<models::StatsAccumulator> zonal_accumulate(const std::string& raster_path, int band,
                                                       const std::vector<Shape>& shapes,
                                                       const models::AccumulatorConfig& config,
                                                       const ZonalOptions& options);

}  // namespace qinling::vector
