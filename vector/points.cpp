#include "vector/points.hpp"

#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>

#include "models/errors.hpp"
#include "raster/gdal_io.hpp"
#include "vector/ogr_io.hpp"

namespace qinling::vector {

namespace {

struct TransformDeleter {
  void operator()(OGRCoordinateTransformation* t) const noexcept {
    OGRCoordinateTransformation::DestroyCT(t);
  }
};

// A whole-string number ("12.5", " -3e2 "); false for text, empty or non-finite values.
bool parse_number(const std::string& text, double& out) {
  std::size_t b = 0, e = text.size();
  while (b < e && text[b] == ' ') ++b;
  while (e > b && text[e - 1] == ' ') --e;
  if (b == e) return false;
  if (text[b] == '+') ++b;
  const auto r = std::from_chars(text.data() + b, text.data() + e, out);
  return r.ec == std::errc() && r.ptr == text.data() + e && std::isfinite(out);
}

std::string field_list(OGRFeatureDefn* defn) {
  std::string known;
  for (int i = 0; i < defn->GetFieldCount(); ++i)
    known += (known.empty() ? "" : ", ") + std::string(defn->GetFieldDefn(i)->GetNameRef());
  return known;
}

int field_index(OGRFeatureDefn* defn, const std::string& name, const std::string& path,
                const std::string& role) {
  const int i = defn->GetFieldIndex(name.c_str());
  if (i < 0)
    throw InputError(path + ": has no " + role + " field '" + name + "' (fields: " + field_list(defn) + ")");
  return i;
}

}  // namespace

PointLayer read_points(const std::string& path, const std::string& target_wkt, const PointReadOptions& opt) {
  raster::DatasetPtr ds = open_vector(path);
  OGRLayer* layer = ds->GetLayer(0);
  if (layer == nullptr) throw InputError(path + ": has no layer");
  OGRFeatureDefn* defn = layer->GetLayerDefn();
  // CSV is read as text (no geometry guessing), so a bad coordinate is seen and reported.
  const bool table = defn->GetGeomFieldCount() == 0;
  int xi = -1, yi = -1;
  if (table) {
    xi = field_index(defn, opt.x_field, path, "x (x_field)");
    yi = field_index(defn, opt.y_field, path, "y (y_field)");
  }
  std::vector<int> idx;
  for (const auto& f : opt.fields) idx.push_back(field_index(defn, f, path, "attribute"));

  OGRSpatialReference from, to;
  from.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  to.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  const OGRSpatialReference* layer_srs = table ? nullptr : layer->GetSpatialRef();
  if (layer_srs != nullptr) {
    from = *layer_srs;
    from.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  } else if (from.SetFromUserInput(opt.crs.c_str()) != OGRERR_NONE) {
    throw ConfigError(path + ": crs '" + opt.crs + "' is not a CRS GDAL knows (e.g. EPSG:4326)");
  }
  if (to.importFromWkt(target_wkt.c_str()) != OGRERR_NONE) throw ConfigError("cannot read the grid CRS");
  std::unique_ptr<OGRCoordinateTransformation, TransformDeleter> ct;
  if (!from.IsSame(&to)) {
    ct.reset(OGRCreateCoordinateTransformation(&from, &to));
    if (!ct) throw InputError(path + ": no transformation from its CRS to the grid's CRS");
  }
  const bool geographic = from.IsGeographic();

  PointLayer out;
  long long row = 0;
  layer->ResetReading();
  for (auto& f : *layer) {
    ++row;
    ++out.total;
    const long long id = table ? row : f->GetFID();
    double x = NAN, y = NAN;
    if (table) {
      if (!parse_number(f->GetFieldAsString(xi), x) || !parse_number(f->GetFieldAsString(yi), y)) {
        out.bad.emplace_back(id, "coordinates '" + std::string(f->GetFieldAsString(xi)) + "', '" +
                                     f->GetFieldAsString(yi) + "' are not numbers");
        continue;
      }
    } else {
      const OGRGeometry* g = f->GetGeometryRef();
      if (g == nullptr || g->IsEmpty() || wkbFlatten(g->getGeometryType()) != wkbPoint) {
        out.bad.emplace_back(id, g == nullptr || g->IsEmpty() ? "no geometry" : "not a point");
        continue;
      }
      const auto* p = g->toPoint();
      x = p->getX(), y = p->getY();
      if (!std::isfinite(x) || !std::isfinite(y)) {
        out.bad.emplace_back(id, "coordinates are not finite");
        continue;
      }
    }
    if (geographic && (std::abs(x) > 180 || std::abs(y) > 90)) {
      out.bad.emplace_back(id, "lon/lat " + std::to_string(x) + ", " + std::to_string(y) +
                                   " out of range (swapped columns or a projected CRS?)");
      continue;
    }
    if (ct && (!ct->Transform(1, &x, &y) || !std::isfinite(x) || !std::isfinite(y))) {
      out.bad.emplace_back(id, "cannot be reprojected to the grid's CRS");
      continue;
    }
    out.points.push_back({x, y});
    out.rows.push_back(id);
    std::vector<std::string> vals;
    for (int i : idx) vals.push_back(f->IsFieldSetAndNotNull(i) ? f->GetFieldAsString(i) : "");
    out.values.push_back(std::move(vals));
  }
  if (out.points.empty() && out.total > 0)
    throw InputError(path + ": none of its " + std::to_string(out.total) +
                     " rows has usable coordinates (first problem, row " +
                     std::to_string(out.bad.front().first) + ": " + out.bad.front().second +
                     "); check x_field/y_field and crs");
  return out;
}

namespace {

// Even-odd crossing test over every ring (exteriors and holes alike): a point is inside when a ray
// to +x crosses an odd number of edges. Edges count when one end is strictly above the point and
// the other not, which makes shared edges half-open.
bool contains(const Shape& s, const Point& q) {
  bool inside = false;
  for (std::size_t r = 0; r < s.rings(); ++r) {
    const std::size_t b = s.ring_begin(r), e = s.ring_ends[r];
    for (std::size_t i = b + 1; i < e; ++i) {
      const Point& a = s.points[i - 1];
      const Point& c = s.points[i];
      if ((a[1] > q[1]) != (c[1] > q[1])) {
        const double x = a[0] + (q[1] - a[1]) * (c[0] - a[0]) / (c[1] - a[1]);
        if (q[0] < x) inside = !inside;
      }
    }
  }
  return inside;
}

}  // namespace

std::vector<int> locate_points(const std::vector<Shape>& cells, const std::vector<Point>& points) {
  std::vector<int> out(points.size(), -1);
  if (cells.empty() || points.empty()) return out;
  // Bucket the cells' bounding boxes on a uniform grid about one cell wide.
  std::vector<raster::BBox> boxes(cells.size());
  double x0 = 1e300, y0 = 1e300, x1 = -1e300, y1 = -1e300, span = 0;
  for (std::size_t c = 0; c < cells.size(); ++c) {
    boxes[c] = cells[c].bounds();
    x0 = std::min(x0, boxes[c].xmin), y0 = std::min(y0, boxes[c].ymin);
    x1 = std::max(x1, boxes[c].xmax), y1 = std::max(y1, boxes[c].ymax);
    span += std::max(boxes[c].xmax - boxes[c].xmin, boxes[c].ymax - boxes[c].ymin);
  }
  double size = std::max(span / double(cells.size()), 1e-9);
  const double limit = 4e6;  // buckets: keep the index small even for odd inputs
  while ((x1 - x0) / size * ((y1 - y0) / size) > limit) size *= 2;
  const int nx = std::max(1, int(std::ceil((x1 - x0) / size))),
            ny = std::max(1, int(std::ceil((y1 - y0) / size)));
  auto bx = [&](double x) { return std::clamp(int((x - x0) / size), 0, nx - 1); };
  auto by = [&](double y) { return std::clamp(int((y - y0) / size), 0, ny - 1); };
  std::vector<std::vector<int>> buckets(std::size_t(nx) * ny);
  for (std::size_t c = 0; c < cells.size(); ++c)
    for (int j = by(boxes[c].ymin); j <= by(boxes[c].ymax); ++j)
      for (int i = bx(boxes[c].xmin); i <= bx(boxes[c].xmax); ++i)
        buckets[std::size_t(j) * nx + i].push_back(int(c));
  for (std::size_t p = 0; p < points.size(); ++p) {
    const Point& q = points[p];
    if (q[0] < x0 || q[0] > x1 || q[1] < y0 || q[1] > y1) continue;
    for (int c : buckets[std::size_t(by(q[1])) * nx + bx(q[0])]) {  // ascending: the first match wins
      const auto& b = boxes[c];
      if (q[0] < b.xmin || q[0] > b.xmax || q[1] < b.ymin || q[1] > b.ymax) continue;
      if (contains(cells[c], q)) {
        out[p] = c;
        break;
      }
    }
  }
  return out;
}

}  // namespace qinling::vector
