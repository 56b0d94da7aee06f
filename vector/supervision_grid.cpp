#include "vector/supervision_grid.hpp"

#include <ogrsf_frmts.h>
#include <spdlog/spdlog.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

#include "models/errors.hpp"
#include "models/tsan_annotations.hpp"
#include "vector/geos.hpp"
#include "vector/ogr_io.hpp"
#include "vector/polygons.hpp"

namespace qinling::vector {

std::string cell_id(double cell_size, long long row, long long col) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%gm_N%lld_E%lld", cell_size, row, col);
  return buf;
}

namespace {

struct Cell {
  long long row, col;
  Shape shape;
  double area;
};

// Per-thread GEOS state: a context and its own copy of the prepared region.
struct RegionState {
  GeosContext geos;
  GeomPtr region;
  PreparedPtr prepared;
};

}  // namespace

CellTable build_grid(const std::vector<Shape>& region, const std::string& crs_wkt, double cell_size,
                     int threads) {
  if (!(cell_size > 0)) throw ConfigError("cell_size must be positive");
  if (region.empty()) throw InputError("the region has no polygon");
  raster::BBox box = region.front().bounds();
  for (const auto& s : region) {
    const auto b = s.bounds();
    box = {std::min(box.xmin, b.xmin), std::min(box.ymin, b.ymin), std::max(box.xmax, b.xmax),
           std::max(box.ymax, b.ymax)};
  }
  const long long c0 = (long long)std::floor(box.xmin / cell_size),
                  c1 = (long long)std::ceil(box.xmax / cell_size);
  const long long r0 = (long long)std::floor(box.ymin / cell_size),
                  r1 = (long long)std::ceil(box.ymax / cell_size);
  if ((c1 - c0) * (r1 - r0) > 200'000'000LL)
    throw ConfigError("the region would need " + std::to_string((c1 - c0) * (r1 - r0)) +
                      " candidate cells; use a larger cell_size (units are those of the grid CRS)");

  auto make_state = [&] {
    auto st = std::make_unique<RegionState>();
    std::vector<GeomPtr> parts;
    std::vector<GEOSGeometry*> raw;
    for (const auto& s : region) {
      parts.push_back(st->geos.from_shape(s));
      raw.push_back(parts.back().release());  // the collection takes ownership
    }
    GeomPtr coll = st->geos.own(GEOSGeom_createCollection_r(st->geos.get(), GEOS_GEOMETRYCOLLECTION,
                                                            raw.data(), unsigned(raw.size())),
                                "collecting the region");
    st->region = st->geos.own(GEOSUnaryUnion_r(st->geos.get(), coll.get()), "merging the region");
    st->prepared = st->geos.prepare(st->region.get());
    return st;
  };
  tbb::enumerable_thread_specific<std::unique_ptr<RegionState>> states;

  const long long rows = r1 - r0;
  std::vector<std::vector<Cell>> by_row(static_cast<std::size_t>(rows));
  (void)threads;  // the caller's tbb::global_control bounds the threads
  const models::tsan::ForkJoin tsan_loop;  // TSan marks (models/tsan_annotations.hpp)
  tbb::parallel_for(tbb::blocked_range<long long>(0, rows, 4),
                    tsan_loop.wrap([&](const tbb::blocked_range<long long>& range) {
                      auto& slot = states.local();
                      if (!slot) slot = make_state();
                      RegionState& st = *slot;
                      const GEOSContextHandle_t h = st.geos.get();
                      for (long long i = range.begin(); i != range.end(); ++i) {
                        const long long row = r1 - 1 - i;  // north first
                        auto& out = by_row[std::size_t(i)];
                        for (long long col = c0; col < c1; ++col) {
                          const double x0 = col * cell_size, y0 = row * cell_size;
                          GeomPtr cell = st.geos.box(x0, y0, x0 + cell_size, y0 + cell_size);
                          if (GEOSPreparedContainsProperly_r(h, st.prepared.get(), cell.get()) == 1) {
                            out.push_back({row, col, Shape::rectangle(x0, y0, x0 + cell_size, y0 + cell_size),
                                           cell_size * cell_size});
                            continue;
                          }
                          if (GEOSPreparedIntersects_r(h, st.prepared.get(), cell.get()) != 1) continue;
                          GeomPtr clipped = st.geos.intersection(st.region.get(), cell.get());
                          Shape s = shape_from_geos(st.geos, clipped.get());
                          const double area = s.area();
                          if (s.empty() || !(area > 1e-9 * cell_size * cell_size)) continue;
                          out.push_back({row, col, std::move(s), area});
                        }
                      }
                    }));
  tsan_loop.joined();

  CellTable t;
  t.crs_wkt = crs_wkt;
  auto ids = std::make_shared<std::vector<std::string>>();
  auto shapes = std::make_shared<std::vector<Shape>>();
  std::vector<double> grow, gcol, area, frac;
  for (auto& row : by_row)
    for (auto& c : row) {
      ids->push_back(cell_id(cell_size, c.row, c.col));
      shapes->push_back(std::move(c.shape));
      grow.push_back(double(c.row));
      gcol.push_back(double(c.col));
      area.push_back(c.area);
      frac.push_back(c.area / (cell_size * cell_size));
    }
  t.ids = ids;
  t.shapes = shapes;
  t.add("grid_row", Column::Type::integer).numbers = std::move(grow);
  t.add("grid_col", Column::Type::integer).numbers = std::move(gcol);
  t.add("area_m2", Column::Type::real).numbers = std::move(area);
  t.add("region_fraction", Column::Type::real).numbers = std::move(frac);
  return t;
}

CellTable load_grid(const std::string& path, const std::string& id_field, const std::string& target_wkt) {
  std::string field = id_field;
  if (field.empty()) {
    const PolygonLayer probe = read_polygons(path, target_wkt, {});
    for (const char* cand : {"cell_id", "id", "ID"})
      if (std::find(probe.field_names.begin(), probe.field_names.end(), cand) != probe.field_names.end()) {
        field = cand;
        break;
      }
  }
  PolygonLayer layer =
      read_polygons(path, target_wkt, field.empty() ? std::vector<std::string>{} : std::vector{field});
  if (layer.shapes.empty()) throw InputError(path + ": has no polygon features to use as cells");
  auto ids = std::make_shared<std::vector<std::string>>();
  ids->reserve(layer.shapes.size());
  for (std::size_t i = 0; i < layer.shapes.size(); ++i) {
    std::string id = field.empty() ? std::to_string(layer.fids[i]) : std::move(layer.values[i][0]);
    if (id.empty())
      throw InputError(path + ": feature " + std::to_string(layer.fids[i]) + " has no " + field);
    ids->push_back(std::move(id));
  }
  layer.values.clear();
  // Unique IDs: sorting (hash, index) pairs stays in cache, unlike a hash set of a million strings;
  // only equal hashes compare the strings.
  std::vector<std::pair<std::size_t, std::uint32_t>> hashed(ids->size());
  for (std::size_t i = 0; i < ids->size(); ++i) hashed[i] = {std::hash<std::string>{}((*ids)[i]), std::uint32_t(i)};
  std::sort(hashed.begin(), hashed.end());
  for (std::size_t i = 1; i < hashed.size(); ++i)
    for (std::size_t j = i; j-- > 0 && hashed[j].first == hashed[i].first;)
      if ((*ids)[hashed[j].second] == (*ids)[hashed[i].second])
        throw InputError(path + ": " + (field.empty() ? "feature id" : field) + " '" + (*ids)[hashed[i].second] +
                         "' is used twice; cell IDs must be unique (choose another id_field)");
  CellTable t;
  t.crs_wkt = target_wkt;
  t.id_column = field.empty() ? "cell_id" : field;
  t.ids = ids;
  std::vector<double> area;
  for (const auto& s : layer.shapes) area.push_back(s.area());
  t.shapes = std::make_shared<std::vector<Shape>>(std::move(layer.shapes));
  t.add("area_m2", Column::Type::real).numbers = std::move(area);
  return t;
}

}  // namespace qinling::vector
