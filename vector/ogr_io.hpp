// RAII over OGR vector datasets: open for reading with errors that name the file.
#pragma once

#include <string>

#include "raster/gdal_io.hpp"

namespace qinling::vector {

// Opens a vector dataset (GeoJSON, GeoPackage, Shapefile…) read-only; throws InputError naming
// the path when it is missing or not a vector file.
raster::DatasetPtr open_vector(const std::string& path);

// Number of features over all layers (a cheap sanity check for tests and reports).
long long count_features(GDALDataset& ds);

}  // namespace qinling::vector
