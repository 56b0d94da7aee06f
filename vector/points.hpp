// Field observations as points (patrol and Beidou/GPS fixes, monitoring sites, incidents) read
// from GeoJSON, GeoPackage, Shapefile or CSV with coordinate columns, reprojected to the grid's
// CRS, and located in the supervision cells.
#pragma once

#include <string>
#include <vector>

#include "vector/shape.hpp"

namespace qinling::vector {

struct PointReadOptions {
  std::vector<std::string> fields;  // attribute values to keep, in this order
  // CSV (and other layers without geometry): the coordinate columns and their CRS.
  std::string x_field = "lon", y_field = "lat";
  std::string crs = "EPSG:4326";  // also used for layers that carry no CRS
};

struct PointLayer {
  std::vector<Point> points;                           // in the target CRS
  std::vector<std::vector<std::string>> values;        // per point, the `fields` ("" when null)
  std::vector<long long> rows;                         // the feature id / CSV data row (1 = first data row)
  long long total = 0;                                 // features read
  std::vector<std::pair<long long, std::string>> bad;  // rows dropped: bad or missing coordinates, why
};

// Reads the first layer of `path`. Throws InputError naming the file when it cannot be read, a
// field is missing, or no row has usable coordinates.
PointLayer read_points(const std::string& path, const std::string& target_wkt,
                       const PointReadOptions& options);

// For each point, the index of the cell containing it, or -1. A point on an edge shared by two
// cells goes to exactly one of them (half-open crossing rule), so counts add up.
std::vector<int> locate_points(const std::vector<Shape>& cells, const std::vector<Point>& points);

}  // namespace qinling::vector
