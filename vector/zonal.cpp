#include "vector/zonal.hpp"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/global_control.h>
#include <tbb/parallel_pipeline.h>

#include <algorithm>
#include <cmath>

#include "raster/source.hpp"
#include "vector/coverage.hpp"

namespace qinling::vector {

namespace {

struct WindowWork {
  std::size_t index = 0;
  std::vector<std::pair<std::uint32_t, models::StatsAccumulator>> partial;  // cell, its part in this window
};

// For each window, the cells whose pixel bounds touch it (ascending cell order).
std::vector<std::vector<std::uint32_t>> cells_per_window(const std::vector<raster::Window>& windows,
                                                         const std::vector<raster::Window>& cell_px,
                                                         const raster::RasterInfo& info) {
  const int bw = info.block_width, bh = info.block_height;
  const int nbx = (info.grid.width + bw - 1) / bw, nby = (info.grid.height + bh - 1) / bh;
  std::vector<std::uint32_t> block_window(std::size_t(nbx) * nby, 0);
  for (std::size_t wi = 0; wi < windows.size(); ++wi) {
    const auto& w = windows[wi];
    for (int by = w.y / bh; by < (w.y + w.height + bh - 1) / bh; ++by)
      for (int bx = w.x / bw; bx < (w.x + w.width + bw - 1) / bw; ++bx)
        block_window[std::size_t(by) * nbx + bx] = std::uint32_t(wi);
  }
  std::vector<std::vector<std::uint32_t>> out(windows.size());
  for (std::size_t c = 0; c < cell_px.size(); ++c) {
    const auto& p = cell_px[c];
    const int x0 = std::max(p.x, 0), y0 = std::max(p.y, 0);
    const int x1 = std::min(p.x + p.width, info.grid.width), y1 = std::min(p.y + p.height, info.grid.height);
    if (x0 >= x1 || y0 >= y1) continue;
    for (int by = y0 / bh; by <= (y1 - 1) / bh; ++by)
      for (int bx = x0 / bw; bx <= (x1 - 1) / bw; ++bx) {
        auto& list = out[block_window[std::size_t(by) * nbx + bx]];
        if (list.empty() || list.back() != c) list.push_back(std::uint32_t(c));
      }
  }
  return out;
}

raster::Window intersect(const raster::Window& a, const raster::Window& b) {
  const int x0 = std::max(a.x, b.x), y0 = std::max(a.y, b.y);
  const int x1 = std::min(a.x + a.width, b.x + b.width), y1 = std::min(a.y + a.height, b.y + b.height);
  if (x0 >= x1 || y0 >= y1) return {x0, y0, 0, 0};
  return {x0, y0, x1 - x0, y1 - y0};
}

}  // namespace

std::vector<models::StatsAccumulator> zonal_accumulate(const std::string& path, int band,
                                                       const std::vector<Shape>& shapes,
                                                       const models::AccumulatorConfig& config,
                                                       const ZonalOptions& options) {
  const raster::RasterInfo info = raster::describe_raster(path);
  const PixelTransform to_pixel(info.grid);
  const double pixel_area = std::abs(info.grid.geotransform[1] * info.grid.geotransform[5] -
                                     info.grid.geotransform[2] * info.grid.geotransform[4]);
  std::vector<raster::Window> cell_px(shapes.size());
  for (std::size_t c = 0; c < shapes.size(); ++c) cell_px[c] = pixel_bounds(shapes[c], to_pixel);

  const int bw = std::max(1, info.block_width), bh = std::max(1, info.block_height);
  const auto windows =
      raster::plan_windows(info.grid.width, info.grid.height, bw, bh,
                           std::max<std::int64_t>(options.window_pixels, std::int64_t(bw) * bh));
  raster::RasterInfo blocks = info;
  blocks.block_width = bw, blocks.block_height = bh;
  const auto lists = cells_per_window(windows, cell_px, blocks);

  raster::GridReader reader(info.grid);
  reader.add_file(path, info, "nearest");
  const raster::BandSource source{path, band};

  std::vector<models::StatsAccumulator> acc;
  acc.reserve(shapes.size());
  for (std::size_t c = 0; c < shapes.size(); ++c) acc.emplace_back(&config);

  struct Scratch {
    std::vector<float> values, coverage;
    std::vector<double> increments;
  };
  tbb::enumerable_thread_specific<Scratch> scratch;
  std::size_t next = 0, done = 0;
  const std::size_t tokens = std::size_t(std::max(1, options.threads)) * 2;
  tbb::parallel_pipeline(
      tokens,
      tbb::make_filter<void, WindowWork*>(tbb::filter_mode::serial_in_order,
                                          [&](tbb::flow_control& fc) -> WindowWork* {
                                            while (next < windows.size() && lists[next].empty()) ++next;
                                            if (next >= windows.size()) {
                                              fc.stop();
                                              return nullptr;
                                            }
                                            auto* w = new WindowWork;
                                            w->index = next++;
                                            return w;
                                          }) &
          tbb::make_filter<WindowWork*, WindowWork*>(
              tbb::filter_mode::parallel,
              [&](WindowWork* work) {
                Scratch& s = scratch.local();
                const raster::Window& win = windows[work->index];
                s.values.resize(std::size_t(win.pixels()));
                reader.read(source, win, s.values.data());
                work->partial.reserve(lists[work->index].size());
                for (std::uint32_t c : lists[work->index]) {
                  const raster::Window part = intersect(cell_px[c], win);
                  if (part.width == 0) continue;
                  coverage_fractions(shapes[c], to_pixel, part, s.increments, s.coverage);
                  models::StatsAccumulator a(&config);
                  for (int r = 0; r < part.height; ++r) {
                    const float* v =
                        s.values.data() + std::size_t(part.y - win.y + r) * win.width + (part.x - win.x);
                    const float* cov = s.coverage.data() + std::size_t(r) * part.width;
                    for (int i = 0; i < part.width; ++i)
                      if (cov[i] > 0) a.add(v[i], cov[i]);
                  }
                  work->partial.emplace_back(c, std::move(a));
                }
                return work;
              }) &
          tbb::make_filter<WindowWork*, void>(tbb::filter_mode::serial_in_order, [&](WindowWork* work) {
            std::unique_ptr<WindowWork> owned(work);
            for (auto& [c, a] : work->partial) acc[c].merge(a);
            ++done;
            if (options.progress) options.progress(done, windows.size());
          }));

  // The part of each shape outside the raster is missing data, like nodata pixels.
  for (std::size_t c = 0; c < shapes.size(); ++c) {
    const double expected = std::abs(shapes[c].area()) / pixel_area;
    const double missing = expected - acc[c].total_weight();
    if (missing > 1e-6 * std::max(1.0, expected)) acc[c].add(NAN, missing);
  }
  return acc;
}

}  // namespace qinling::vector
