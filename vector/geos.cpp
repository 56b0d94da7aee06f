#include "vector/geos.hpp"

#include <ogr_geometry.h>

#include <cstdarg>
#include <vector>

#include "models/errors.hpp"

namespace qinling::vector {

namespace {
struct WkbFree {
  GEOSContextHandle_t ctx;
  void operator()(unsigned char* p) const noexcept { GEOSFree_r(ctx, p); }
};
}  // namespace

GeosContext::GeosContext() : ctx_(GEOS_init_r()) {
  if (ctx_ == nullptr) throw ProcessingError("cannot initialise GEOS");
  GEOSContext_setErrorMessageHandler_r(ctx_, &GeosContext::on_error, this);
}

GeosContext::~GeosContext() { GEOS_finish_r(ctx_); }

void GeosContext::on_error(const char* message, void* self) {
  static_cast<GeosContext*>(self)->last_error_ = message ? message : "unknown GEOS error";
}

GeomPtr GeosContext::own(GEOSGeometry* g, const std::string& what) const {
  if (g == nullptr) throw ProcessingError("GEOS failed in " + what + ": " + last_error_);
  return GeomPtr(g, GeomDeleter{ctx_});
}

GeomPtr GeosContext::from_ogr(const OGRGeometry& g) const {
  std::vector<unsigned char> wkb(g.WkbSize());
  if (g.exportToWkb(wkbNDR, wkb.data(), wkbVariantIso) != OGRERR_NONE)
    throw ProcessingError("cannot convert a " + std::string(g.getGeometryName()) + " to WKB");
  return own(GEOSGeomFromWKB_buf_r(ctx_, wkb.data(), wkb.size()), "reading WKB");
}

std::unique_ptr<OGRGeometry> GeosContext::to_ogr(const GEOSGeometry* g) const {
  std::size_t size = 0;
  std::unique_ptr<unsigned char, WkbFree> wkb(GEOSGeomToWKB_buf_r(ctx_, g, &size), WkbFree{ctx_});
  if (!wkb) throw ProcessingError("GEOS cannot write WKB: " + last_error_);
  OGRGeometry* out = nullptr;
  if (OGRGeometryFactory::createFromWkb(wkb.get(), nullptr, &out, size) != OGRERR_NONE || out == nullptr)
    throw ProcessingError("OGR cannot read GEOS WKB");
  return std::unique_ptr<OGRGeometry>(out);
}

GeomPtr GeosContext::from_shape(const Shape& s) const {
  std::unique_ptr<OGRGeometry> g(s.to_ogr());
  return from_ogr(*g);
}

GeomPtr GeosContext::box(double xmin, double ymin, double xmax, double ymax) const {
  return own(GEOSGeom_createRectangle_r(ctx_, xmin, ymin, xmax, ymax), "making a rectangle");
}

PreparedPtr GeosContext::prepare(const GEOSGeometry* g) const {
  const GEOSPreparedGeometry* p = GEOSPrepare_r(ctx_, g);
  if (p == nullptr) throw ProcessingError("GEOS cannot prepare a geometry: " + last_error_);
  return PreparedPtr(p, PreparedDeleter{ctx_});
}

bool GeosContext::is_valid(const GEOSGeometry* g, std::string* reason) const {
  const char v = GEOSisValid_r(ctx_, g);
  if (v == 1) return true;
  if (reason) {
    char* r = GEOSisValidReason_r(ctx_, g);
    *reason = r ? r : last_error_;
    if (r) GEOSFree_r(ctx_, r);
  }
  return false;
}

GeomPtr GeosContext::make_valid(const GEOSGeometry* g) const {
  return own(GEOSMakeValid_r(ctx_, g), "make-valid");
}

GeomPtr GeosContext::intersection(const GEOSGeometry* a, const GEOSGeometry* b) const {
  return own(GEOSIntersection_r(ctx_, a, b), "intersection");
}

double GeosContext::area(const GEOSGeometry* g) const {
  double a = 0;
  if (GEOSArea_r(ctx_, g, &a) == 0) throw ProcessingError("GEOS cannot compute an area: " + last_error_);
  return a;
}

namespace {

std::vector<Point> ring_points(GEOSContextHandle_t ctx, const GEOSGeometry* ring) {
  const GEOSCoordSequence* seq = GEOSGeom_getCoordSeq_r(ctx, ring);
  unsigned int n = 0;
  std::vector<Point> pts;
  if (seq == nullptr || GEOSCoordSeq_getSize_r(ctx, seq, &n) == 0) return pts;
  pts.resize(n);
  for (unsigned int i = 0; i < n; ++i) GEOSCoordSeq_getXY_r(ctx, seq, i, &pts[i][0], &pts[i][1]);
  return pts;
}

void collect(GEOSContextHandle_t ctx, const GEOSGeometry* g, Shape& out) {
  const int type = GEOSGeomTypeId_r(ctx, g);
  if (type == GEOS_POLYGON) {
    if (GEOSisEmpty_r(ctx, g) == 1) return;
    out.add_ring(ring_points(ctx, GEOSGetExteriorRing_r(ctx, g)), true);
    const int holes = GEOSGetNumInteriorRings_r(ctx, g);
    for (int i = 0; i < holes; ++i) out.add_ring(ring_points(ctx, GEOSGetInteriorRingN_r(ctx, g, i)), false);
  } else if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
    const int n = GEOSGetNumGeometries_r(ctx, g);
    for (int i = 0; i < n; ++i) collect(ctx, GEOSGetGeometryN_r(ctx, g, i), out);
  }
}

}  // namespace

Shape shape_from_geos(const GeosContext& ctx, const GEOSGeometry* g) {
  Shape s;
  collect(ctx.get(), g, s);
  return s;
}

}  // namespace qinling::vector
