#include "vector/sample_vectors.hpp"

#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <cmath>
#include <numbers>

#include "raster/gdal_io.hpp"
#include "raster/sample_scene.hpp"
#include "vector/polygons.hpp"

namespace qinling::vector {
namespace {

// A smooth periodic wobble in [-1, 1]: harmonics 2..6 with seed-chosen phases and 1/k weights,
// so outlines look natural and stay within their stated bounds for every seed.
class Wobble {
 public:
  Wobble(std::uint64_t seed, int shape) {
    for (int k = 0; k < kHarmonics; ++k)
      phase_[k] = 2 * std::numbers::pi * raster::sample_hash_unit(seed, 1000 + shape, k);
  }
  double operator()(double theta) const {
    double sum = 0, norm = 0;
    for (int k = 0; k < kHarmonics; ++k) {
      sum += std::sin((k + 2) * theta + phase_[k]) / (k + 2);
      norm += 1.0 / (k + 2);
    }
    return sum / norm;
  }

 private:
  static constexpr int kHarmonics = 5;
  double phase_[kHarmonics]{};
};

PixelRing wobbly_ellipse(int size, std::uint64_t seed, int shape, double cu, double cv, double ru, double rv,
                         double amount, int vertices) {
  const Wobble wobble(seed, shape);
  PixelRing ring;
  for (int i = 0; i < vertices; ++i) {
    const double theta = 2 * std::numbers::pi * i / vertices;
    const double f = 1 + amount * wobble(theta);
    ring.push_back({size * (cu + ru * f * std::cos(theta)), size * (cv + rv * f * std::sin(theta))});
  }
  ring.push_back(ring.front());
  return ring;
}

struct ZoneLayout {
  int id;
  const char* name;
  const char* level;
  double cu, cv, r;
};
constexpr ZoneLayout kZones[] = {{1, "Taibaishan", "national", 0.34, 0.50, 0.11},
                                 {2, "Foping", "national", 0.63, 0.42, 0.08},
                                 {3, "Changqing", "national", 0.45, 0.70, 0.09},
                                 {4, "Huangbaiyuan", "provincial", 0.26, 0.72, 0.07}};

OGRPolygon to_lonlat_polygon(const raster::Grid& grid, const PixelRing& ring) {
  std::vector<std::array<double, 2>> xy;
  for (const auto& [c, r] : ring) xy.push_back(grid.to_world(c, r));
  OGRLinearRing lr;
  for (const auto& [lon, lat] : to_lonlat(xy, grid.crs_wkt)) lr.addPoint(lon, lat);
  OGRPolygon poly;
  poly.addRing(&lr);
  return poly;
}

// Creates a one-layer GeoJSON dataset and runs `fill` on its layer; any GDAL error names `path`.
template <class Fill>
void write_geojson(const std::string& path, const std::string& layer_name, Fill&& fill) {
  raster::init_gdal();
  raster::ErrorTrap trap;
  GDALDriver* drv = GetGDALDriverManager()->GetDriverByName("GeoJSON");
  if (drv == nullptr) throw ProcessingError(path + ": GDAL has no GeoJSON driver");
  raster::DatasetPtr ds(drv->Create(path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
  if (!ds) throw ProcessingError(path + ": cannot create: " + trap.message());
  OGRSpatialReference wgs84;
  wgs84.SetWellKnownGeogCS("CRS84");  // lon/lat axis order by definition
  const char* options[] = {"RFC7946=YES", nullptr};
  OGRLayer* layer = ds->CreateLayer(layer_name.c_str(), &wgs84, wkbPolygon, const_cast<char**>(options));
  if (layer == nullptr) throw ProcessingError(path + ": cannot create a layer: " + trap.message());
  fill(*layer);
  ds.reset();  // closing writes the file
  trap.check(path, "writing GeoJSON", false);
}

void add_field(OGRLayer& layer, const char* name, OGRFieldType type) {
  OGRFieldDefn def(name, type);
  if (layer.CreateField(&def) != OGRERR_NONE)
    throw ProcessingError(std::string("cannot create field ") + name);
}

void add_feature(OGRLayer& layer, OGRFeature& feature, const std::string& path) {
  if (layer.CreateFeature(&feature) != OGRERR_NONE) throw ProcessingError(path + ": cannot write a feature");
}

}  // namespace

PixelRing sample_boundary(int size, std::uint64_t seed) {
  return wobbly_ellipse(size, seed, 0, 0.50, 0.55, 0.45, 0.40, 0.06, 72);
}

std::vector<SampleZone> sample_zones(int size, std::uint64_t seed) {
  std::vector<SampleZone> out;
  for (const auto& z : kZones)
    out.push_back({z.id, z.name, z.level, wobbly_ellipse(size, seed, z.id, z.cu, z.cv, z.r, z.r, 0.12, 48)});
  return out;
}

bool ring_contains(const PixelRing& ring, double col, double row) {
  bool inside = false;
  for (std::size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
    const auto& a = ring[i];
    const auto& b = ring[j];
    if ((a[1] > row) != (b[1] > row) && col < (b[0] - a[0]) * (row - a[1]) / (b[1] - a[1]) + a[0])
      inside = !inside;
  }
  return inside;
}

void write_boundary_geojson(const std::string& path, const raster::Grid& grid, const PixelRing& boundary) {
  write_geojson(path, "boundary", [&](OGRLayer& layer) {
    add_field(layer, "name", OFTString);
    OGRFeature f(layer.GetLayerDefn());
    f.SetField("name", "Qinling sample region");
    const OGRPolygon poly = to_lonlat_polygon(grid, boundary);
    f.SetGeometry(&poly);
    add_feature(layer, f, path);
  });
}

void write_zones_geojson(const std::string& path, const raster::Grid& grid,
                         const std::vector<SampleZone>& zones) {
  write_geojson(path, "protected_zones", [&](OGRLayer& layer) {
    add_field(layer, "name", OFTString);
    add_field(layer, "level", OFTString);
    add_field(layer, "zone_id", OFTInteger);
    for (const auto& z : zones) {
      OGRFeature f(layer.GetLayerDefn());
      f.SetField("name", z.name.c_str());
      f.SetField("level", z.level.c_str());
      f.SetField("zone_id", z.zone_id);
      const OGRPolygon poly = to_lonlat_polygon(grid, z.ring);
      f.SetGeometry(&poly);
      add_feature(layer, f, path);
    }
  });
}

}  // namespace qinling::vector
