// met.verify per supervision cell or polygon mask: which mask each analysis-grid cell (its centre) and
// each station falls in, the partial sums per mask (and lead), and the per-mask tables (CSV, JSON, and a
// GeoPackage/GeoJSON layer joinable to the cells by their ID).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "models/verification.hpp"
#include "pipeline/steps/met_verify_tables.hpp"
#include "raster/grid.hpp"
#include "vector/cell_table.hpp"

namespace qinling::pipeline::steps {

// Sums of the masks that have any (mask index ascending); masks without pairs are absent.
using MaskSums = std::vector<std::pair<int, models::ScoreSums>>;
using MaskFss = std::vector<std::pair<int, models::FssSums>>;

// All `parts` merged in their order (each mask's sums added part by part), in O(entries + masks).
MaskSums merge_mask_parts(const std::vector<MaskSums>& parts, std::size_t masks);
MaskFss merge_mask_parts(const std::vector<MaskFss>& parts, std::size_t masks);

// Pairs added per mask in arrival order, then handed out ascending by mask (deterministic).
class MaskAccumulator {
 public:
  explicit MaskAccumulator(const std::vector<double>& thresholds) : thresholds_(thresholds) {}
  void add(int mask, double f, double o);  // mask < 0: in no mask, ignored
  MaskSums finish();

 private:
  std::vector<double> thresholds_;
  std::vector<std::pair<int, models::ScoreSums>> items_;
  std::unordered_map<int, std::size_t> where_;
  int last_ = -1;
  std::size_t last_at_ = 0;
};

// The masks on the analysis grid: shapes in the grid's CRS. A cell belongs to the first mask (in table
// order) that contains its centre (GDAL's rasteriser, pixel-centre rule); a station to the first that
// contains it. So every cell and station is in at most one mask: sums over masks add up exactly.
class MaskLabeller {
 public:
  MaskLabeller(const vector::CellTable& masks, const raster::Grid& grid);
  std::size_t size() const { return shapes_.size(); }
  // Mask index (or −1) of each cell of `w`, row-major. Memory: the window and the masks meeting it.
  void label(const raster::Window& w, std::int32_t* out) const;
  // Mask index (or −1) of each point (grid CRS).
  std::vector<int> locate(const std::vector<std::array<double, 2>>& points) const;

 private:
  raster::Grid grid_;
  std::vector<vector::Shape> shapes_;
  std::vector<raster::BBox> boxes_;
};

// The mask index (or −1) of every cell of `grid`, row-major (4 bytes per cell), labelled in parallel windows.
std::vector<std::int32_t> label_grid(const MaskLabeller& labeller, const raster::Grid& grid);

// The FSS sums of every (threshold, window), threshold-major, over the whole fields: per threshold the
// tables, then blocks of 64 rows × windows as TBB tasks merged in row order (the same sums for any thread
// count). With `labels` (one mask index in [0, masks) or −1 per cell), `per_mask` gets the same sums per
// mask.
std::vector<models::FssSums> fss_in_parallel(const std::vector<float>& f, const std::vector<float>& o,
                                             int width, int height, const std::vector<double>& thresholds,
                                             const std::vector<double>& windows,
                                             const std::int32_t* labels = nullptr,
                                             std::vector<MaskFss>* per_mask = nullptr, std::size_t masks = 0);

// Everything the per-mask outputs show.
struct MaskTable {
  std::string step_id, variable, source;  // source: "cells: <step>" or "masks: <input>"
  const vector::CellTable* masks = nullptr;
  std::vector<double> thresholds;
  MaskSums overall;           // over every lead
  std::vector<double> leads;  // with per_lead
  std::vector<MaskSums> per_lead;
  std::vector<MaskFss> fss;  // one per (threshold, window), threshold-major
  std::vector<double> fss_windows;
  std::int64_t pairs_total = 0, pairs_outside = 0;  // pairs overall and in no mask
};

// One row per mask and lead ("all": every lead), the scores and their partial sums; the first column
// is the masks' ID column, so the table joins to the cells. Streamed row by row: memory is one row.
void mask_csv(const MaskTable& t, std::ostream& out);
void mask_json(const MaskTable& t, std::ostream& out);
// Writes `path` through `body` into a temporary file in the same folder, renamed when complete (removed
// on failure). Throws ProcessingError naming `path` when it cannot be written.
void write_streamed(const std::string& path, const std::function<void(std::ostream&)>& body);
// The masks with the overall scores and sums of each as columns (no geometry change).
vector::CellTable mask_layer(const MaskTable& t);

}  // namespace qinling::pipeline::steps
