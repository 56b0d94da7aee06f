// RAII over the GEOS C API: one context handle per thread (the thread-safe _r functions), owning
// geometry handles, and bridges to OGR and to our flat polygon `Shape`.
#pragma once

#include <geos_c.h>

#include <memory>
#include <string>

#include "vector/shape.hpp"

class OGRGeometry;

namespace qinling::vector {

struct GeomDeleter {
  GEOSContextHandle_t ctx = nullptr;
  void operator()(GEOSGeometry* g) const noexcept {
    if (g) GEOSGeom_destroy_r(ctx, g);
  }
};
using GeomPtr = std::unique_ptr<GEOSGeometry, GeomDeleter>;

struct PreparedDeleter {
  GEOSContextHandle_t ctx = nullptr;
  void operator()(const GEOSPreparedGeometry* g) const noexcept {
    if (g) GEOSPreparedGeom_destroy_r(ctx, g);
  }
};
using PreparedPtr = std::unique_ptr<const GEOSPreparedGeometry, PreparedDeleter>;

// A GEOS context: use one per thread. Errors GEOS reports are kept and thrown as ProcessingError.
class GeosContext {
 public:
  GeosContext();
  ~GeosContext();
  GeosContext(const GeosContext&) = delete;
  GeosContext& operator=(const GeosContext&) = delete;

  GEOSContextHandle_t get() const { return ctx_; }
  // Takes ownership of `g`; throws ProcessingError naming `what` and GEOS's message when null.
  GeomPtr own(GEOSGeometry* g, const std::string& what) const;
  GeomPtr from_ogr(const OGRGeometry& g) const;
  std::unique_ptr<OGRGeometry> to_ogr(const GEOSGeometry* g) const;
  GeomPtr from_shape(const Shape& s) const;
  GeomPtr box(double xmin, double ymin, double xmax, double ymax) const;
  PreparedPtr prepare(const GEOSGeometry* g) const;
  bool is_valid(const GEOSGeometry* g, std::string* reason) const;
  GeomPtr make_valid(const GEOSGeometry* g) const;
  GeomPtr intersection(const GEOSGeometry* a, const GEOSGeometry* b) const;
  double area(const GEOSGeometry* g) const;

 private:
  static void on_error(const char* message, void* self);
  GEOSContextHandle_t ctx_;
  std::string last_error_;
};

// The polygons of `g` (collections are searched; points and lines dropped) as a Shape with
// exteriors counter-clockwise and holes clockwise.
Shape shape_from_geos(const GeosContext& ctx, const GEOSGeometry* g);

}  // namespace qinling::vector
