// met.verify's HTML report: the score tables with inline SVG plots (scores by lead time, categorical
// scores by threshold, a performance diagram, FSS by window) and, grid to grid, a PNG map of the bias.
#pragma once

#include <string>
#include <vector>

#include "models/verification.hpp"
#include "raster/grid.hpp"
#include "raster/source.hpp"

namespace qinling::pipeline::steps {

struct VerifyReport {
  std::string step_id, variable;
  bool temperature = false;  // show the ±1/±2 °C accuracy
  models::ContinuousScores overall;
  std::vector<models::Contingency> tables;  // one per threshold
  std::vector<double> leads;                // with `by_lead`: the scores per lead time
  std::vector<models::ContinuousScores> by_lead;
  std::vector<models::FssSums> fss;  // threshold-major
  std::string bias_png;              // PNG bytes of the bias map; empty: no map
  double bias_limit = 0;             // the map's colours span [−limit, +limit]
};

// One self-contained page (no scripts, no external files). Every plot is an <svg data-plot="…">;
// the performance diagram's points carry data-pod / data-sr (17 digits); table cells carry data-key
// with the value formatted as in the JSON (6 significant digits, empty when undefined).
std::string verify_report_html(const VerifyReport& r);

// The mean of forecast − observation over blocks of cells (at most `max_side` blocks along the longer
// side), read strip by strip, as a PNG with a diverging blue–white–red ramp (transparent where no
// cell of a block is valid). `limit` gets the largest |mean bias| of a block (the ramp's end).
std::string bias_map_png(raster::GridReader& reader, const raster::BandSource& forecast,
                         const raster::BandSource& observation, int max_side, double* limit);

}  // namespace qinling::pipeline::steps
