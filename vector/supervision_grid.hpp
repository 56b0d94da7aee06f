// The supervision grid: square cells in a projected CRS clipped to a region, with stable IDs,
// or an existing polygon layer loaded as cells.
#pragma once

#include <string>
#include <vector>

#include "vector/cell_table.hpp"

namespace qinling::vector {

// The stable ID of the cell whose south-west corner is (col·size, row·size) in the grid CRS:
// "<size>m_N<row>_E<col>", e.g. "1000m_N3754_E386". Rows count northings and columns eastings
// from the CRS origin, so a cell keeps its ID whatever the region or the run.
std::string cell_id(double cell_size, long long row, long long col);

// Square cells of `cell_size` (CRS units) aligned to multiples of it, covering `region` (shapes
// in `crs_wkt`, merged). Cells are clipped to the region; those with no area inside are dropped.
// Columns: grid_row, grid_col (integers), area_m2 (area inside the region), region_fraction.
// Rows run north to south, columns west to east; the order is fixed. GEOS work runs on
// `threads` threads, each with its own context.
CellTable build_grid(const std::vector<Shape>& region, const std::string& crs_wkt, double cell_size,
                     int threads);

// An existing polygon layer as cells, reprojected to `target_wkt`. `id_field` empty: the first of
// cell_id / id / ID that exists, else the feature id. Columns: area_m2.
CellTable load_grid(const std::string& path, const std::string& id_field, const std::string& target_wkt);

}  // namespace qinling::vector
