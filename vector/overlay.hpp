// Which protected zones each cell meets and the share of the cell's area inside each (GEOS
// STRtree over the zones, prepared geometries, exact intersection areas).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "vector/shape.hpp"

namespace qinling::vector {

struct Zone {
  std::string name, category;
  Shape shape;  // in the cells' CRS
};

// Per cell: (zone index, share of the cell's area inside the zone), zones in input order; only
// zones with a positive share. Runs on the caller's TBB threads, one GEOS context per thread.
std::vector<std::vector<std::pair<std::uint32_t, double>>> overlay_zones(const std::vector<Shape>& cells,
                                                                         const std::vector<Zone>& zones);

}  // namespace qinling::vector
