#include "vector/overlay.hpp"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <memory>

#include "models/tsan_annotations.hpp"
#include "vector/geos.hpp"

namespace qinling::vector {

namespace {

struct TreeDeleter {
  GEOSContextHandle_t ctx;
  void operator()(GEOSSTRtree* t) const noexcept { GEOSSTRtree_destroy_r(ctx, t); }
};

// One thread's GEOS objects: its context, the zones, their prepared forms and an STRtree.
struct ZoneIndex {
  GeosContext geos;
  std::vector<GeomPtr> zones;
  std::vector<PreparedPtr> prepared;
  std::vector<GeomPtr> envelopes;
  std::unique_ptr<GEOSSTRtree, TreeDeleter> tree{nullptr, TreeDeleter{nullptr}};
  std::vector<std::uint32_t> ids;  // tree items point here

  explicit ZoneIndex(const std::vector<Zone>& input) {
    tree = std::unique_ptr<GEOSSTRtree, TreeDeleter>(GEOSSTRtree_create_r(geos.get(), 10),
                                                     TreeDeleter{geos.get()});
    ids.resize(input.size());
    for (std::size_t i = 0; i < input.size(); ++i) {
      zones.push_back(geos.from_shape(input[i].shape));
      prepared.push_back(geos.prepare(zones.back().get()));
      envelopes.push_back(geos.own(GEOSEnvelope_r(geos.get(), zones.back().get()), "zone envelope"));
      ids[i] = std::uint32_t(i);
      GEOSSTRtree_insert_r(geos.get(), tree.get(), envelopes.back().get(), &ids[i]);
    }
  }
  ~ZoneIndex() {
    tree.reset();
    envelopes.clear();
    prepared.clear();
    zones.clear();
  }
};

void collect_hit(void* item, void* userdata) {
  static_cast<std::vector<std::uint32_t>*>(userdata)->push_back(*static_cast<std::uint32_t*>(item));
}

}  // namespace

std::vector<std::vector<std::pair<std::uint32_t, double>>> overlay_zones(const std::vector<Shape>& cells,
                                                                         const std::vector<Zone>& zones) {
  std::vector<std::vector<std::pair<std::uint32_t, double>>> out(cells.size());
  if (zones.empty()) return out;
  tbb::enumerable_thread_specific<std::unique_ptr<ZoneIndex>> indexes;
  const models::tsan::ForkJoin tsan_loop;  // TSan marks (models/tsan_annotations.hpp)
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, cells.size(), 256), tsan_loop.wrap([&](const auto& range) {
    auto& slot = indexes.local();
    if (!slot) slot = std::make_unique<ZoneIndex>(zones);
    ZoneIndex& z = *slot;
    const GEOSContextHandle_t h = z.geos.get();
    std::vector<std::uint32_t> hits;
    for (std::size_t c = range.begin(); c != range.end(); ++c) {
      const double cell_area = cells[c].area();
      if (!(cell_area > 0)) continue;
      GeomPtr cell = z.geos.from_shape(cells[c]);
      hits.clear();
      GEOSSTRtree_query_r(h, z.tree.get(), cell.get(), &collect_hit, &hits);
      std::sort(hits.begin(), hits.end());
      for (std::uint32_t k : hits) {
        if (GEOSPreparedIntersects_r(h, z.prepared[k].get(), cell.get()) != 1) continue;
        double share = 1.0;
        if (GEOSPreparedContainsProperly_r(h, z.prepared[k].get(), cell.get()) != 1) {
          GeomPtr part = z.geos.intersection(z.zones[k].get(), cell.get());
          share = z.geos.area(part.get()) / cell_area;
        }
        if (share > 1e-9) out[c].emplace_back(k, std::min(share, 1.0));
      }
    }
  }));
  tsan_loop.joined();
  return out;
}

}  // namespace qinling::vector
