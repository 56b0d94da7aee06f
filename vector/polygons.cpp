#include "vector/polygons.hpp"

#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "models/errors.hpp"
#include "raster/gdal_io.hpp"
#include "vector/geos.hpp"
#include "vector/ogr_io.hpp"

namespace qinling::vector {

namespace {

struct TransformDeleter {
  void operator()(OGRCoordinateTransformation* t) const noexcept {
    OGRCoordinateTransformation::DestroyCT(t);
  }
};
using TransformPtr = std::unique_ptr<OGRCoordinateTransformation, TransformDeleter>;

OGRSpatialReference srs_from_wkt(const std::string& wkt) {
  OGRSpatialReference srs;
  if (srs.importFromWkt(wkt.c_str()) != OGRERR_NONE)
    throw ConfigError("cannot read the CRS: " + wkt.substr(0, 80));
  srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

TransformPtr make_transform(const OGRSpatialReference& from, const OGRSpatialReference& to,
                            const std::string& what) {
  TransformPtr t(OGRCreateCoordinateTransformation(&from, &to));
  if (!t) throw InputError(what + ": no transformation to the grid's CRS");
  return t;
}

// An axis-aligned rectangle (one ring of 4 corners), the common case of grid cells.
std::optional<Shape> as_rectangle(const OGRGeometry& g) {
  // Our own GeoPackage grids store each cell as a MultiPolygon of one part.
  if (wkbFlatten(g.getGeometryType()) == wkbMultiPolygon) {
    const auto& multi = static_cast<const OGRMultiPolygon&>(g);
    return multi.getNumGeometries() == 1 ? as_rectangle(*multi.getGeometryRef(0)) : std::nullopt;
  }
  if (wkbFlatten(g.getGeometryType()) != wkbPolygon) return std::nullopt;
  const auto& poly = static_cast<const OGRPolygon&>(g);
  const OGRLinearRing* ring = poly.getExteriorRing();
  if (poly.getNumInteriorRings() != 0 || ring == nullptr || ring->getNumPoints() != 5) return std::nullopt;
  double xs[5], ys[5];
  for (int i = 0; i < 5; ++i) xs[i] = ring->getX(i), ys[i] = ring->getY(i);
  if (xs[0] != xs[4] || ys[0] != ys[4]) return std::nullopt;
  // Every edge moves along exactly one axis; with corners 0 and 2 apart on both axes (checked
  // below) the edges alternate, so the ring is a rectangle.
  for (int i = 0; i < 4; ++i)
    if ((xs[i] == xs[i + 1]) == (ys[i] == ys[i + 1])) return std::nullopt;
  const double x0 = std::min(xs[0], xs[2]), x1 = std::max(xs[0], xs[2]), y0 = std::min(ys[0], ys[2]),
               y1 = std::max(ys[0], ys[2]);
  if (!(x0 < x1 && y0 < y1)) return std::nullopt;
  return Shape::rectangle(x0, y0, x1, y1);
}

}  // namespace

PolygonLayer read_polygons(const std::string& path, const std::string& target_wkt,
                           const std::vector<std::string>& fields, const std::string& layer_name) {
  raster::DatasetPtr ds = open_vector(path);
  OGRLayer* layer = layer_name.empty() ? ds->GetLayer(0) : ds->GetLayerByName(layer_name.c_str());
  if (layer == nullptr)
    throw InputError(path + ": " +
                     (layer_name.empty() ? "has no layer" : "has no layer named '" + layer_name + "'"));
  PolygonLayer out;
  OGRFeatureDefn* defn = layer->GetLayerDefn();
  for (int i = 0; i < defn->GetFieldCount(); ++i)
    out.field_names.push_back(defn->GetFieldDefn(i)->GetNameRef());
  std::vector<int> idx;
  for (const auto& f : fields) {
    const int i = defn->GetFieldIndex(f.c_str());
    if (i < 0) {
      std::string known;
      for (const auto& n : out.field_names) known += (known.empty() ? "" : ", ") + n;
      throw InputError(path + ": has no field '" + f + "' (fields: " + known + ")");
    }
    idx.push_back(i);
  }
  const OGRSpatialReference* src = layer->GetSpatialRef();
  if (src == nullptr)
    throw InputError(path + ": the layer has no CRS; add one (e.g. ogr2ogr -a_srs EPSG:4490)");
  OGRSpatialReference from(*src);
  from.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  const OGRSpatialReference to = srs_from_wkt(target_wkt);
  TransformPtr ct;
  if (!from.IsSame(&to)) ct = make_transform(from, to, path);

  // Only the fields asked for are parsed (a big speed-up on wide GeoPackage grids).
  std::vector<std::string> ignored;
  for (const auto& n : out.field_names)
    if (std::find(fields.begin(), fields.end(), n) == fields.end()) ignored.push_back(n);
  std::vector<const char*> ignored_c;
  for (const auto& n : ignored) ignored_c.push_back(n.c_str());
  ignored_c.push_back("OGR_STYLE");
  ignored_c.push_back(nullptr);
  layer->SetIgnoredFields(ignored_c.data());
  idx.clear();
  for (const auto& f : fields) idx.push_back(layer->GetLayerDefn()->GetFieldIndex(f.c_str()));

  GeosContext geos;
  layer->ResetReading();
  for (auto& feature : *layer) {
    OGRGeometry* g = feature->GetGeometryRef();
    if (g == nullptr || wkbFlatten(g->getGeometryType()) == wkbPoint) continue;
    const auto flat = wkbFlatten(g->getGeometryType());
    if (flat != wkbPolygon && flat != wkbMultiPolygon && flat != wkbGeometryCollection &&
        flat != wkbCurvePolygon && flat != wkbMultiSurface)
      continue;
    std::unique_ptr<OGRGeometry> copy;
    if (ct) {
      copy.reset(g->clone());
      if (copy->transform(ct.get()) != OGRERR_NONE)
        throw InputError(path + ": feature " + std::to_string(feature->GetFID()) +
                         " cannot be reprojected to the grid's CRS");
      g = copy.get();
    }
    if (auto rect = as_rectangle(*g)) {  // grid cells: valid by construction, skip GEOS
      out.shapes.push_back(std::move(*rect));
    } else {
      GeomPtr geom = geos.from_ogr(*g);
      std::string reason;
      if (!geos.is_valid(geom.get(), &reason)) {
        spdlog::warn("{}: feature {} is not a valid polygon ({}); repaired with make-valid", path,
                     feature->GetFID(), reason);
        geom = geos.make_valid(geom.get());
        ++out.repaired;
      }
      Shape s = shape_from_geos(geos, geom.get());
      if (s.empty()) continue;
      out.shapes.push_back(std::move(s));
    }
    out.fids.push_back(feature->GetFID());
    std::vector<std::string> vals;
    for (int i : idx) vals.push_back(feature->IsFieldSetAndNotNull(i) ? feature->GetFieldAsString(i) : "");
    out.values.push_back(std::move(vals));
  }
  return out;
}

void reproject_shapes(std::vector<Shape>& shapes, const std::string& from_wkt, const std::string& to_wkt) {
  const OGRSpatialReference from = srs_from_wkt(from_wkt), to = srs_from_wkt(to_wkt);
  if (from.IsSame(&to)) return;
  TransformPtr ct = make_transform(from, to, "cells");
  for (auto& s : shapes) {
    std::vector<double> x(s.points.size()), y(s.points.size());
    for (std::size_t i = 0; i < s.points.size(); ++i) x[i] = s.points[i][0], y[i] = s.points[i][1];
    if (!ct->Transform(int(x.size()), x.data(), y.data()))
      throw ProcessingError("cannot reproject a cell to the raster's CRS");
    for (std::size_t i = 0; i < s.points.size(); ++i) s.points[i] = {x[i], y[i]};
  }
}

std::vector<Point> to_lonlat(const std::vector<Point>& points, const std::string& from_wkt) {
  const OGRSpatialReference from = srs_from_wkt(from_wkt);
  OGRSpatialReference wgs84;
  wgs84.SetWellKnownGeogCS("WGS84");
  wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  TransformPtr ct = make_transform(from, wgs84, "cells");
  std::vector<double> x(points.size()), y(points.size());
  for (std::size_t i = 0; i < points.size(); ++i) x[i] = points[i][0], y[i] = points[i][1];
  if (!points.empty() && !ct->Transform(int(x.size()), x.data(), y.data()))
    throw ProcessingError("cannot compute lon/lat of the cells");
  std::vector<Point> out(points.size());
  for (std::size_t i = 0; i < points.size(); ++i) out[i] = {x[i], y[i]};
  return out;
}

}  // namespace qinling::vector
