// Exact, coverage-weighted zonal statistics of one raster band over many polygons, in one
// parallel pass over the raster's blocks with memory bounded by the number of polygons.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "models/zonal_stats.hpp"
#include "vector/shape.hpp"

namespace qinling::vector {

struct ZonalOptions {
  int threads = 1;
  std::int64_t window_pixels = 1 << 20;  // pixels read per task (whole native blocks)
  // Called after each window is merged with (windows done, windows total); may throw to cancel.
  std::function<void(std::size_t, std::size_t)> progress;
  // Split across processes (MPI ranks): given every window's weight (its pixels, 0 when no shape
  // touches it), the contiguous run [first, last) of windows this process reads. Unset: all.
  std::function<std::pair<std::size_t, std::size_t>(const std::vector<std::int64_t>&)> share;
};

// One process's share of a split pass. A shape's partial accumulators are merged in window order
// from its first window on; the process holding that window merges the shape's partials of its
// own share (`cells`/`merged`), the others keep each window's partial apart (`later`, in window
// order), so that merging the parts in share order repeats one process's additions exactly.
// Shapes whose windows all lie in the share are final here (`complete`, missing area added), so
// a caller may finish their statistics locally and send only those.
struct ZonalPart {
  std::size_t windows_read = 0;
  std::vector<std::uint32_t> cells;  // shapes whose first window, not last, is in this share
  std::vector<models::StatsAccumulator> merged;
  std::vector<std::pair<std::uint32_t, models::StatsAccumulator>> later;
  std::vector<std::uint32_t> complete_cells;  // shapes whose windows are all in this share
  std::vector<models::StatsAccumulator> complete;
  std::string to_bytes() const;
  static ZonalPart from_bytes(const std::string& bytes, const models::AccumulatorConfig* config);
};

// One accumulator per shape (shapes in the raster's CRS). Pixels are weighted by the share of
// their area inside the shape; nodata pixels and the part of a shape outside the raster count
// as missing (they lower valid_fraction). Per-window partial accumulators are merged in window
// order, so the results are identical for any thread count.
std::vector<models::StatsAccumulator> zonal_accumulate(const std::string& raster_path, int band,
                                                       const std::vector<Shape>& shapes,
                                                       const models::AccumulatorConfig& config,
                                                       const ZonalOptions& options);

// This process's part (options.share chooses the windows).
ZonalPart zonal_accumulate_part(const std::string& raster_path, int band, const std::vector<Shape>& shapes,
                                const models::AccumulatorConfig& config, const ZonalOptions& options);
// Merges the parts of a split pass, added one by one in share order (so only one part need be
// decoded at a time): finish() gives the bits zonal_accumulate gives in one process.
class ZonalMerge {
 public:
  ZonalMerge(std::size_t shapes, const models::AccumulatorConfig& config);
  void add(ZonalPart part);
  std::vector<models::StatsAccumulator> finish(const std::string& raster_path,
                                               const std::vector<Shape>& shapes);

 private:
  std::vector<models::StatsAccumulator> acc_;
  std::vector<std::uint8_t> complete_;  // final already (missing area added by its part)
};

// All parts at once, in share order.
std::vector<models::StatsAccumulator> zonal_merge_parts(std::vector<ZonalPart> parts,
                                                        const std::string& raster_path,
                                                        const std::vector<Shape>& shapes,
                                                        const models::AccumulatorConfig& config);

}  // namespace qinling::vector
