// Writes a cell table for officers and GIS: GeoPackage and GeoJSON (one feature per cell, through
// OGR) and CSV (UTF-8 with a BOM so Excel shows Chinese text, centroid lon/lat instead of
// geometry). Every file is written under a temporary name and renamed when complete.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "vector/cell_table.hpp"

namespace qinling::vector {

struct TableWriteOptions {
  std::string layer = "cells";
  // Output name of a column (or of the ID column), by its table name.
  std::vector<std::pair<std::string, std::string>> rename;
  // GDAL layer creation options of the gpkg / geojson driver (an output's `options:`), e.g.
  // SPATIAL_INDEX=NO to skip the GeoPackage R-tree (most of the write time at 10^6 cells).
  std::vector<std::pair<std::string, std::string>> layer_options;
};

// format: "gpkg", "geojson" or "csv". Throws ProcessingError naming `path`.
void write_table(const CellTable& table, const std::string& path, const std::string& format,
                 const TableWriteOptions& options);

// Writes `text` to `path` through a temporary file renamed when complete.
void write_text_atomic(const std::string& path, const std::string& text);

}  // namespace qinling::vector
