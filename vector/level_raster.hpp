// A raster of alert levels (one byte per pixel, with a colour table) for tiling and web maps.
#pragma once

#include <string>
#include <vector>

#include "raster/grid.hpp"
#include "vector/cell_table.hpp"

namespace qinling::vector {

// Burns each cell's value (pixel-centre rule) into a Byte COG on `grid`: `values[i]` for cell i,
// 255 (nodata) outside every cell. `colours` gives RGB per value (index = value). Memory: one
// byte per pixel of `grid`. Written under a temporary name and renamed when complete.
void write_level_cog(const CellTable& cells, const std::vector<unsigned char>& values,
                     const raster::Grid& grid, const std::vector<std::array<short, 3>>& colours,
                     const std::string& path);

}  // namespace qinling::vector
