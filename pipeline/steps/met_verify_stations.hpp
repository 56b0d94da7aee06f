// Grid-to-station verification for met.verify, per lead time: each station row is paired with the
// forecast cell containing the station (of the forecast layer of the row's lead time), the
// forecasts read window by window (not cell by cell), pairs summed per lead in row order.
#pragma once

#include <cstddef>
#include <vector>

#include "models/verification.hpp"
#include "pipeline/steps/met_common.hpp"
#include "pipeline/steps/met_verify_masks.hpp"
#include "raster/grid.hpp"
#include "raster/source.hpp"

namespace qinling::pipeline::steps {

struct StationVerification {
  std::vector<models::ScoreSums> per_lead;  // one per forecast layer, in the order given
  models::ScoreSums total;                  // per_lead merged in order
  std::size_t outside = 0;                  // rows whose station is outside the grid
  std::size_t unknown_lead = 0;             // rows whose lead has no forecast layer
  std::vector<MaskSums> per_lead_mask;      // with `masks`: per forecast layer, the sums per mask
};

// `forecasts[i]` is the forecast for lead `leads[i]`; with no leads (one forecast) every row is
// paired with forecasts[0]. A row's lead (t.lead) matches a lead exactly. The forecast at a station
// is the cell containing it, or with `bilinear` the bilinear value between the four surrounding
// cell centres (GDAL's convention: missing neighbours left out, edge cells keep their value).
// Leads are processed in parallel (TBB); the sums do not depend on the thread count. Memory: one
// strip of about 4 M cells per thread. With `masks`, each pair is also summed in the mask containing
// its station (each distinct location located once).
StationVerification verify_stations(const StationTable& t, const raster::Grid& grid,
                                    const std::vector<raster::BandSource>& forecasts,
                                    const std::vector<double>& leads, const std::vector<double>& thresholds,
                                    bool bilinear = false, const MaskLabeller* masks = nullptr);

}  // namespace qinling::pipeline::steps
