#include "raster/tile_matrix.hpp"

#include <ogr_spatialref.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include "models/errors.hpp"

namespace qinling::raster {
namespace {

// Semi-major axis shared by WGS 84 and CGCS2000, and the OGC "standardized rendering pixel".
constexpr double kSemiMajor = 6378137.0;
constexpr double kPixelMetres = 0.00028;
constexpr double kPi = 3.14159265358979323846;

TileMatrixSet make_web_mercator() {
  TileMatrixSet t;
  t.id = "WebMercatorQuad";
  t.epsg = 3857;
  const double half = kPi * kSemiMajor;  // 20037508.342789244
  t.origin_x = -half;
  t.origin_y = half;
  t.resolution0 = 2 * half / 256;
  t.width0 = t.height0 = 1;
  t.min_level = 0;
  return t;
}

TileMatrixSet make_cgcs2000() {
  // Tianditu's "c" grid: level 1 is 2x1 tiles of 180 degrees over the world (WorldCRS84Quad's
  // level 0, numbered one higher).
  TileMatrixSet t;
  t.id = "CGCS2000Quad";
  t.epsg = 4490;
  t.geographic = true;
  t.origin_x = -180;
  t.origin_y = 90;
  t.resolution0 = 180.0 / 256;
  t.width0 = 2;
  t.height0 = 1;
  t.min_level = 1;
  return t;
}

}  // namespace

double TileMatrixSet::resolution(int z) const { return std::ldexp(resolution0, min_level - z); }

double TileMatrixSet::scale_denominator(int z) const {
  const double metres_per_unit = geographic ? 2 * kPi * kSemiMajor / 360.0 : 1.0;
  return resolution(z) * metres_per_unit / kPixelMetres;
}

BBox TileMatrixSet::tile_bounds(int z, int x, int y) const {
  const double size = resolution(z) * tile_size;
  BBox b;
  b.xmin = origin_x + x * size;
  b.xmax = b.xmin + size;
  b.ymax = origin_y - y * size;
  b.ymin = b.ymax - size;
  return b;
}

std::string TileMatrixSet::crs_wkt() const {
  // Cached: importFromEPSG queries PROJ's SQLite database, and warpers ask for this per block.
  static std::mutex mutex;
  static std::map<int, std::string> cache;
  std::lock_guard lock(mutex);
  if (auto it = cache.find(epsg); it != cache.end()) return it->second;
  OGRSpatialReference srs;
  srs.importFromEPSG(epsg);
  srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  char* wkt = nullptr;
  srs.exportToWkt(&wkt);
  std::string s = wkt ? wkt : "";
  CPLFree(wkt);
  cache[epsg] = s;
  return s;
}

const TileMatrixSet& web_mercator_quad() {
  static const TileMatrixSet t = make_web_mercator();
  return t;
}

const TileMatrixSet& cgcs2000_quad() {
  static const TileMatrixSet t = make_cgcs2000();
  return t;
}

std::vector<std::string> tile_matrix_set_ids() { return {"WebMercatorQuad", "CGCS2000Quad"}; }

const TileMatrixSet& tile_matrix_set(const std::string& id) {
  if (id == "WebMercatorQuad") return web_mercator_quad();
  if (id == "CGCS2000Quad") return cgcs2000_quad();
  throw ConfigError("unknown tile matrix set '" + id + "' (known: WebMercatorQuad, CGCS2000Quad)");
}

TileRange tile_range(const TileMatrixSet& tms, int z, const BBox& bbox) {
  const double size = tms.resolution(z) * tms.tile_size;
  const int cols = tms.matrix_width(z), rows = tms.matrix_height(z);
  // A small inward tolerance so that bounds exactly on a tile edge do not add a row of empty tiles.
  const double eps = size * 1e-9;
  TileRange r;
  r.z = z;
  r.col0 = std::clamp(int(std::floor((bbox.xmin - tms.origin_x + eps) / size)), 0, cols - 1);
  r.col1 = std::clamp(int(std::floor((bbox.xmax - tms.origin_x - eps) / size)), 0, cols - 1);
  r.row0 = std::clamp(int(std::floor((tms.origin_y - bbox.ymax + eps) / size)), 0, rows - 1);
  r.row1 = std::clamp(int(std::floor((tms.origin_y - bbox.ymin - eps) / size)), 0, rows - 1);
  return r;
}

int max_zoom_for(const TileMatrixSet& tms, double pixel_size) {
  for (int z = tms.min_level; z <= tms.max_level; ++z)
    if (pixel_size > tms.resolution(z) * (1 + 1e-9)) return std::max(tms.min_level, z - 1);
  return tms.max_level;
}

int min_zoom_for(const TileMatrixSet& tms, double extent) {
  return max_zoom_for(tms, extent / tms.tile_size);
}

}  // namespace qinling::raster
