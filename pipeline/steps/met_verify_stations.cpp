#include "pipeline/steps/met_verify_stations.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>

#include "models/regrid.hpp"
#include "models/tsan_annotations.hpp"

namespace qinling::pipeline::steps {

StationVerification verify_stations(const StationTable& t, const raster::Grid& grid,
                                    const std::vector<raster::BandSource>& forecasts,
                                    const std::vector<double>& leads, const std::vector<double>& thresholds,
                                    bool bilinear, const MaskLabeller* masks) {
  StationVerification out;
  const std::size_t nf = forecasts.size();
  out.per_lead.assign(nf, models::ScoreSums(thresholds));
  out.total = models::ScoreSums(thresholds);
  if (nf == 0) return out;

  // Fractional grid position of each row (project_stations transforms each distinct location once).
  const auto st = project_stations(t, grid);
  std::vector<int> mask_of;  // per row, with `masks`
  if (masks != nullptr) {
    out.per_lead_mask.resize(nf);
    // Each distinct location once (rows repeat a station per lead time), in order of first appearance.
    struct Hash {
      std::size_t operator()(const std::pair<double, double>& p) const {
        return std::hash<double>{}(p.first) * 0x9E3779B97F4A7C15ULL ^ std::hash<double>{}(p.second);
      }
    };
    std::unordered_map<std::pair<double, double>, std::size_t, Hash> seen;
    std::vector<std::array<double, 2>> unique;
    std::vector<std::size_t> slot(st.size());
    for (std::size_t i = 0; i < st.size(); ++i) {
      const auto [it, fresh] = seen.emplace(std::pair{st[i].x, st[i].y}, unique.size());
      if (fresh) unique.push_back({st[i].x, st[i].y});
      slot[i] = it->second;
    }
    const std::vector<int> located = masks->locate(unique);
    mask_of.resize(st.size());
    for (std::size_t i = 0; i < st.size(); ++i) mask_of[i] = located[slot[i]];
  }
  std::vector<std::array<double, 2>> px(st.size());
  std::map<double, std::size_t> lead_index;
  for (std::size_t i = 0; i < leads.size(); ++i) lead_index.emplace(leads[i], i);
  // Rows per forecast, in row order: (key, row); the key is the grid row whose strip holds the
  // cells the row needs (its own cell, or for bilinear the upper of the two centre rows around it).
  std::vector<std::vector<std::pair<int, std::size_t>>> rows(nf);
  for (std::size_t k = 0; k < st.size(); ++k) {
    std::size_t li = 0;
    if (!leads.empty()) {
      const auto it = k < t.lead.size() ? lead_index.find(t.lead[k]) : lead_index.end();
      if (it == lead_index.end()) {
        ++out.unknown_lead;
        continue;
      }
      li = it->second;
    }
    px[k] = grid.to_pixel(st[k].x, st[k].y);
    const double c = std::floor(px[k][0]), r = std::floor(px[k][1]);
    if (!(c >= 0 && r >= 0 && c < grid.width && r < grid.height)) {
      ++out.outside;
      continue;
    }
    const int key = bilinear ? std::max(0, int(std::floor(px[k][1] - 0.5))) : int(r);
    rows[li].emplace_back(key, k);
  }

  raster::GridReader reader(grid);
  std::set<std::string> files;
  for (const auto& f : forecasts)
    if (files.insert(f.path).second) reader.add_file(f.path, raster::describe_raster(f.path), "bilinear");
  // Full-width strips of about 4 M cells (bounded memory); only strips holding a station are read,
  // with one more row below for bilinear.
  const int strip = int(std::clamp<std::int64_t>((std::int64_t(1) << 22) / grid.width, 1, grid.height));

  const models::tsan::ForkJoin tsan_loop;  // TSan marks (models/tsan_annotations.hpp)
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, nf), tsan_loop.each([&](std::size_t li) {
    const auto& mine = rows[li];
    std::vector<double> f(mine.size(), NAN);
    std::vector<std::size_t> order(mine.size());  // positions sorted by key: each strip's rows are one run
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return mine[a].first < mine[b].first; });
    models::SourceLattice lat;  // the strip as a lattice, for bilinear sampling at its rows
    lat.width = lat.full_width = grid.width;
    lat.full_height = grid.height;
    std::size_t at = 0;
    while (at < order.size()) {
      const int y0 = mine[order[at]].first / strip * strip;
      const int h = std::min(grid.height - y0, strip + (bilinear ? 1 : 0));
      std::size_t end = at;
      while (end < order.size() && mine[order[end]].first < y0 + strip) ++end;
      lat.row0 = y0;
      lat.height = h;
      lat.values.resize(std::size_t(grid.width) * std::size_t(h));
      reader.read(forecasts[li], raster::Window{0, y0, grid.width, h}, lat.values.data());
      for (; at < end; ++at) {
        const auto& p = px[mine[order[at]].second];
        if (bilinear) {
          f[order[at]] = models::sample_bilinear(lat, p[0], p[1]);
        } else {
          const auto r = std::size_t(std::floor(p[1])) - std::size_t(y0), c = std::size_t(std::floor(p[0]));
          f[order[at]] = lat.values[r * std::size_t(grid.width) + c];
        }
      }
    }
    for (std::size_t i = 0; i < mine.size(); ++i) out.per_lead[li].add(f[i], t.value[mine[i].second]);
    if (masks != nullptr) {
      MaskAccumulator acc(thresholds);
      for (std::size_t i = 0; i < mine.size(); ++i) acc.add(mask_of[mine[i].second], f[i], t.value[mine[i].second]);
      out.per_lead_mask[li] = acc.finish();
    }
  }));
  tsan_loop.joined();
  for (const auto& s : out.per_lead) out.total.merge(s);  // lead order: the same sums for any thread count
  return out;
}

}  // namespace qinling::pipeline::steps
