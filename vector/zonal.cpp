#include "vector/zonal.hpp"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/global_control.h>
#include <tbb/parallel_pipeline.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <tuple>

#include "models/errors.hpp"
#include "models/tsan_annotations.hpp"
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

// This process's pass: `acc` (one per shape) holds the merged partials of the shapes whose first
// window is in the share (`owned`); partials of the other shapes go to `later`, in window order.
struct Pass {
  std::vector<models::StatsAccumulator> acc;
  std::vector<std::uint8_t> owned, complete;  // complete: owned, and no window after the share
  std::vector<std::pair<std::uint32_t, models::StatsAccumulator>> later;
  std::size_t windows_read = 0;
};

Pass run_pass(const std::string& path, int band, const std::vector<Shape>& shapes,
              const models::AccumulatorConfig& config, const ZonalOptions& options) {
  const raster::RasterInfo info = raster::describe_raster(path);
  const PixelTransform to_pixel(info.grid);
  std::vector<raster::Window> cell_px(shapes.size());
  for (std::size_t c = 0; c < shapes.size(); ++c) cell_px[c] = pixel_bounds(shapes[c], to_pixel);

  const int bw = std::max(1, info.block_width), bh = std::max(1, info.block_height);
  const auto windows =
      raster::plan_windows(info.grid.width, info.grid.height, bw, bh,
                           std::max<std::int64_t>(options.window_pixels, std::int64_t(bw) * bh));
  raster::RasterInfo blocks = info;
  blocks.block_width = bw, blocks.block_height = bh;
  const auto lists = cells_per_window(windows, cell_px, blocks);

  // The share: windows balanced by the pixels read (windows no shape touches are skipped).
  std::size_t first = 0, last = windows.size();
  if (options.share) {
    std::vector<std::int64_t> weights(windows.size(), 0);
    for (std::size_t i = 0; i < windows.size(); ++i) weights[i] = lists[i].empty() ? 0 : windows[i].pixels();
    std::tie(first, last) = options.share(weights);
  }
  Pass pass;
  pass.owned.assign(shapes.size(), 0);
  std::vector<std::uint8_t> seen(shapes.size(), 0);  // a window before this share touches it
  for (std::size_t i = 0; i < last; ++i)
    for (std::uint32_t c : lists[i])
      if (!seen[c]) {
        seen[c] = 1;
        pass.owned[c] = i >= first ? 1 : 0;
      }
  pass.complete = pass.owned;
  for (std::size_t i = last; i < windows.size(); ++i)
    for (std::uint32_t c : lists[i]) pass.complete[c] = 0;
  std::size_t total = 0;
  for (std::size_t i = first; i < last; ++i) total += lists[i].empty() ? 0 : 1;

  raster::GridReader reader(info.grid);
  reader.add_file(path, info, "nearest");
  const raster::BandSource source{path, band};

  pass.acc.reserve(shapes.size());
  for (std::size_t c = 0; c < shapes.size(); ++c) pass.acc.emplace_back(&config);

  struct Scratch {
    std::vector<float> values, coverage;
    std::vector<double> increments;
  };
  tbb::enumerable_thread_specific<Scratch> scratch;
  std::size_t next = first;
  const std::size_t tokens = std::size_t(std::max(1, options.threads)) * 2;
  // TSan marks (models/tsan_annotations.hpp): TBB hands each window from stage to stage and runs a
  // serial stage's calls one after another; `pass` is returned after the join.
  const models::tsan::ForkJoin fork_join;
  const char read_stage = 0, merge_stage = 0;
  tbb::parallel_pipeline(
      tokens,
      tbb::make_filter<void, WindowWork*>(tbb::filter_mode::serial_in_order,
                                          [&](tbb::flow_control& fc) -> WindowWork* {
                                            const auto task = fork_join.task();
                                            const models::tsan::Serial serial(&read_stage);
                                            while (next < last && lists[next].empty()) ++next;
                                            if (next >= last) {
                                              fc.stop();
                                              return nullptr;
                                            }
                                            auto* w = new WindowWork;
                                            w->index = next++;
                                            models::tsan::release(w);
                                            return w;
                                          }) &
          tbb::make_filter<WindowWork*, WindowWork*>(
              tbb::filter_mode::parallel,
              [&](WindowWork* work) {
                const auto task = fork_join.task();
                models::tsan::acquire(work);
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
                models::tsan::release(work);
                return work;
              }) &
          tbb::make_filter<WindowWork*, void>(tbb::filter_mode::serial_in_order, [&](WindowWork* work) {
            const auto task = fork_join.task();
            const models::tsan::Serial serial(&merge_stage);
            models::tsan::acquire(work);
            std::unique_ptr<WindowWork> owned(work);
            for (auto& [c, a] : work->partial) {
              if (pass.owned[c])
                pass.acc[c].merge(a);
              else
                pass.later.emplace_back(c, std::move(a));
            }
            ++pass.windows_read;
            if (options.progress) options.progress(pass.windows_read, total);
          }));
  fork_join.joined();
  return pass;
}

double pixel_area(const std::string& path) {
  const raster::Grid grid = raster::describe_raster(path).grid;
  return std::abs(grid.geotransform[1] * grid.geotransform[5] - grid.geotransform[2] * grid.geotransform[4]);
}

// The part of a shape outside the raster is missing data, like nodata pixels.
void add_missing(models::StatsAccumulator& acc, const Shape& shape, double pixel_area) {
  const double expected = std::abs(shape.area()) / pixel_area;
  const double missing = expected - acc.total_weight();
  if (missing > 1e-6 * std::max(1.0, expected)) acc.add(NAN, missing);
}

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <class T>
T get(const char*& p, const char* end) {
  if (std::size_t(end - p) < sizeof(T))
    throw ProcessingError("zonal statistics: truncated part from another rank");
  T v;
  std::memcpy(&v, p, sizeof v);
  p += sizeof v;
  return v;
}

}  // namespace

std::string ZonalPart::to_bytes() const {
  std::string out;
  put(out, std::uint64_t(windows_read));
  put(out, std::uint64_t(cells.size()));
  for (std::size_t i = 0; i < cells.size(); ++i) {
    put(out, cells[i]);
    merged[i].write(out);
  }
  put(out, std::uint64_t(later.size()));
  for (const auto& [c, a] : later) {
    put(out, c);
    a.write(out);
  }
  put(out, std::uint64_t(complete_cells.size()));
  for (std::size_t i = 0; i < complete_cells.size(); ++i) {
    put(out, complete_cells[i]);
    complete[i].write(out);
  }
  return out;
}

ZonalPart ZonalPart::from_bytes(const std::string& bytes, const models::AccumulatorConfig* config) {
  ZonalPart part;
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  part.windows_read = std::size_t(get<std::uint64_t>(p, end));
  const auto n = get<std::uint64_t>(p, end);
  for (std::uint64_t i = 0; i < n; ++i) {
    part.cells.push_back(get<std::uint32_t>(p, end));
    part.merged.push_back(models::StatsAccumulator::read(p, end, config));
  }
  const auto m = get<std::uint64_t>(p, end);
  for (std::uint64_t i = 0; i < m; ++i) {
    const auto c = get<std::uint32_t>(p, end);
    part.later.emplace_back(c, models::StatsAccumulator::read(p, end, config));
  }
  const auto k = get<std::uint64_t>(p, end);
  for (std::uint64_t i = 0; i < k; ++i) {
    part.complete_cells.push_back(get<std::uint32_t>(p, end));
    part.complete.push_back(models::StatsAccumulator::read(p, end, config));
  }
  return part;
}

std::vector<models::StatsAccumulator> zonal_accumulate(const std::string& path, int band,
                                                       const std::vector<Shape>& shapes,
                                                       const models::AccumulatorConfig& config,
                                                       const ZonalOptions& options) {
  ZonalOptions all = options;
  all.share = nullptr;
  Pass pass = run_pass(path, band, shapes, config, all);
  const double area = pixel_area(path);
  for (std::size_t c = 0; c < shapes.size(); ++c) add_missing(pass.acc[c], shapes[c], area);
  return std::move(pass.acc);
}

ZonalPart zonal_accumulate_part(const std::string& path, int band, const std::vector<Shape>& shapes,
                                const models::AccumulatorConfig& config, const ZonalOptions& options) {
  Pass pass = run_pass(path, band, shapes, config, options);
  ZonalPart part;
  part.windows_read = pass.windows_read;
  const double area = pixel_area(path);
  for (std::size_t c = 0; c < shapes.size(); ++c)
    if (pass.complete[c]) {
      add_missing(pass.acc[c], shapes[c], area);
      part.complete_cells.push_back(std::uint32_t(c));
      part.complete.push_back(std::move(pass.acc[c]));
    } else if (pass.owned[c]) {
      part.cells.push_back(std::uint32_t(c));
      part.merged.push_back(std::move(pass.acc[c]));
    }
  part.later = std::move(pass.later);
  return part;
}

ZonalMerge::ZonalMerge(std::size_t shapes, const models::AccumulatorConfig& config) : complete_(shapes, 0) {
  acc_.reserve(shapes);
  for (std::size_t c = 0; c < shapes; ++c) acc_.emplace_back(&config);
}

void ZonalMerge::add(ZonalPart part) {
  // The later windows of cells that earlier parts started (their owners are added already), then
  // the cells this part starts. So every cell sees its owner's merge, then each later window.
  for (const auto& [c, a] : part.later) {
    if (c >= acc_.size()) throw ProcessingError("zonal statistics: a part names an unknown cell");
    acc_[c].merge(a);
  }
  for (std::size_t i = 0; i < part.cells.size(); ++i) {
    if (part.cells[i] >= acc_.size()) throw ProcessingError("zonal statistics: a part names an unknown cell");
    acc_[part.cells[i]] = std::move(part.merged[i]);
  }
  for (std::size_t i = 0; i < part.complete_cells.size(); ++i) {
    const auto c = part.complete_cells[i];
    if (c >= acc_.size()) throw ProcessingError("zonal statistics: a part names an unknown cell");
    acc_[c] = std::move(part.complete[i]);
    complete_[c] = 1;
  }
}

std::vector<models::StatsAccumulator> ZonalMerge::finish(const std::string& path,
                                                         const std::vector<Shape>& shapes) {
  const double area = pixel_area(path);
  for (std::size_t c = 0; c < shapes.size(); ++c)
    if (!complete_[c]) add_missing(acc_[c], shapes[c], area);
  return std::move(acc_);
}

std::vector<models::StatsAccumulator> zonal_merge_parts(std::vector<ZonalPart> parts, const std::string& path,
                                                        const std::vector<Shape>& shapes,
                                                        const models::AccumulatorConfig& config) {
  ZonalMerge merge(shapes.size(), config);
  for (auto& part : parts) merge.add(std::move(part));
  return merge.finish(path, shapes);
}

}  // namespace qinling::vector
