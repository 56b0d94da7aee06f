// Reading polygon layers (regions, zones, existing grids) into Shapes in a target CRS, with
// invalid polygons repaired by make-valid and a warning that names the file and feature.
#pragma once

#include <string>
#include <vector>

#include "vector/shape.hpp"

namespace qinling::vector {

struct PolygonLayer {
  std::vector<Shape> shapes;                     // one per polygon feature, in the target CRS
  std::vector<std::vector<std::string>> values;  // per feature, the `fields` asked for ("" when null)
  std::vector<long long> fids;
  int repaired = 0;                      // features that were invalid and repaired
  std::vector<std::string> field_names;  // every field of the layer
};

// Reads the first layer of `path` (or `layer` when not empty). Non-polygon features are skipped.
// Throws InputError naming the file when it cannot be read, has no CRS, or a field is missing.
PolygonLayer read_polygons(const std::string& path, const std::string& target_wkt,
                           const std::vector<std::string>& fields, const std::string& layer = "");

// Reprojects shapes in place (every vertex; cells are small enough that edges stay straight).
void reproject_shapes(std::vector<Shape>& shapes, const std::string& from_wkt, const std::string& to_wkt);

// A transformation to WGS 84 lon/lat of points in `from_wkt` (for CSV centroids and GeoJSON).
std::vector<Point> to_lonlat(const std::vector<Point>& points, const std::string& from_wkt);

}  // namespace qinling::vector
