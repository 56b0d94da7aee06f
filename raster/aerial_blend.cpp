#include "raster/aerial_blend.hpp"

#include <gdal_priv.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <chrono>
#include <cmath>
#include <map>
#include <memory>

#include "models/aerial_radiometry.hpp"
#include "models/errors.hpp"
#include "models/tsan_annotations.hpp"

namespace qinling::raster {
namespace {

// A frame being blended: its pixels at read_scale and the inverse mapping grid → frame pixels.
struct LoadedFrame {
  FramePixels px;
  cv::Matx33d from_grid;
  std::array<float, 3> gain{};
  double half_side = 1;
};

struct BlockBuffers {
  std::vector<float> sum;     // 3 per pixel
  std::vector<float> weight;  // 1 per pixel
};

void accumulate(const LoadedFrame& f, const Window& block, const cv::Rect& region, double power,
                BlockBuffers& buf) {
  const int w = f.px.rgb.cols, h = f.px.rgb.rows;
  const cv::Matx33d& m = f.from_grid;
  for (int y = region.y; y < region.y + region.height; ++y) {
    const double gy = y + 0.5;
    for (int x = region.x; x < region.x + region.width; ++x) {
      const double gx = x + 0.5;
      const double z = m(2, 0) * gx + m(2, 1) * gy + m(2, 2);
      const double u = (m(0, 0) * gx + m(0, 1) * gy + m(0, 2)) / z;
      const double v = (m(1, 0) * gx + m(1, 1) * gy + m(1, 2)) / z;
      const double fu = u - 0.5, fv = v - 0.5;  // pixel-centre (index) coordinates
      if (!(fu >= 0 && fv >= 0 && fu <= w - 1 && fv <= h - 1)) continue;
      const int iu = std::min(int(fu), w - 2 < 0 ? 0 : w - 2), iv = std::min(int(fv), h - 2 < 0 ? 0 : h - 2);
      const int iu1 = std::min(iu + 1, w - 1), iv1 = std::min(iv + 1, h - 1);
      if (!f.px.mask.empty() && f.px.mask.at<std::uint8_t>(int(std::lround(fv)), int(std::lround(fu))) == 0)
        continue;
      const double ax = fu - iu, ay = fv - iv;
      const double edge = std::min(std::min(u, w - u), std::min(v, h - v)) / f.half_side;
      const double wt = std::pow(std::max(edge, 1e-6), power);
      const auto* r0 = f.px.rgb.ptr<cv::Vec3b>(iv);
      const auto* r1 = f.px.rgb.ptr<cv::Vec3b>(iv1);
      const std::size_t o = std::size_t(y - block.y) * std::size_t(block.width) + std::size_t(x - block.x);
      for (int c = 0; c < 3; ++c) {
        const double val = (1 - ay) * ((1 - ax) * r0[iu][c] + ax * r0[iu1][c]) +
                           ay * ((1 - ax) * r1[iu][c] + ax * r1[iu1][c]);
        buf.sum[3 * o + std::size_t(c)] += float(wt * val * f.gain[std::size_t(c)]);
      }
      buf.weight[o] += float(wt);
    }
  }
}

}  // namespace

double blend_mosaic(const Grid& grid, const std::vector<PlacedFrame>& frames, const BlendTargets& targets,
                    const BlendOptions& options, const std::function<void(double)>& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<AtomicRasterOutput>> rgba, exg, vari;
  for (const auto& t : targets.rgba) {
    CreationOptions opts = t.options;
    // Byte bands: the integer predictor (the defaults' floating-point one does not apply).
    if (!opts.count("PREDICTOR")) opts["PREDICTOR"] = t.format == "cog" ? "YES" : "2";
    rgba.push_back(std::make_unique<AtomicRasterOutput>(t.path, t.format, opts, grid, 4, GDT_Byte,
                                                        std::vector<double>{}, options.threads));
    GDALDataset* ds = rgba.back()->writer().dataset();
    const GDALColorInterp ci[4] = {GCI_RedBand, GCI_GreenBand, GCI_BlueBand, GCI_AlphaBand};
    for (int b = 0; b < 4; ++b) ds->GetRasterBand(b + 1)->SetColorInterpretation(ci[b]);
  }
  auto add_index = [&](const std::string& path, const char* name, auto& list) {
    if (path.empty()) return;
    list.push_back(std::make_unique<AtomicRasterOutput>(path, targets.index_format, CreationOptions{}, grid,
                                                        1, GDT_Float32, std::vector<double>{NAN},
                                                        options.threads));
    list.back()->writer().set_band_description(1, name);
  };
  add_index(targets.exg, "exg", exg);
  add_index(targets.vari, "vari", vari);
  const int bw = rgba.empty() ? 512 : rgba.front()->writer().block_width();
  const int bh = rgba.empty() ? 512 : rgba.front()->writer().block_height();

  std::vector<cv::Rect> boxes(frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (!frames[i].used()) continue;
    const cv::Rect2d b = frame_bounds(frames[i].to_grid, frames[i].width, frames[i].height);
    boxes[i] = cv::Rect(int(std::floor(b.x)), int(std::floor(b.y)),
                        int(std::ceil(b.x + b.width)) - int(std::floor(b.x)),
                        int(std::ceil(b.y + b.height)) - int(std::floor(b.y))) &
               cv::Rect(0, 0, grid.width, grid.height);
  }
  std::map<std::size_t, LoadedFrame> loaded;
  const int rows = (grid.height + bh - 1) / bh, cols = (grid.width + bw - 1) / bw;
  for (int br = 0; br < rows; ++br) {
    const int y0 = br * bh, h = std::min(bh, grid.height - y0);
    const cv::Rect strip(0, y0, grid.width, h);
    // Frames above this row are finished; load the ones that start in it (in parallel).
    for (auto it = loaded.begin(); it != loaded.end();)
      it = boxes[it->first].y + boxes[it->first].height <= y0 ? loaded.erase(it) : std::next(it);
    std::vector<std::size_t> needed, to_load;
    for (std::size_t i = 0; i < frames.size(); ++i)
      if (frames[i].used() && (boxes[i] & strip).area() > 0) {
        needed.push_back(i);
        if (!loaded.count(i)) to_load.push_back(i);
      }
    std::vector<LoadedFrame> fresh(to_load.size());
    const models::tsan::ForkJoin load_loop;  // TSan marks (models/tsan_annotations.hpp)
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, to_load.size()), load_loop.each([&](std::size_t k) {
      const PlacedFrame& f = frames[to_load[k]];
      LoadedFrame& lf = fresh[k];
      lf.px = read_frame_pixels(f.path, f.read_scale);
      const cv::Matx33d s(double(lf.px.rgb.cols) / f.width, 0, 0, 0, double(lf.px.rgb.rows) / f.height, 0, 0,
                          0, 1);
      lf.from_grid = (f.to_grid * s.inv()).inv();
      for (std::size_t c = 0; c < 3; ++c) lf.gain[c] = float(f.gain[c]);
      lf.half_side = std::max(1.0, std::min(lf.px.rgb.cols, lf.px.rgb.rows) / 2.0);
    }));
    load_loop.joined();
    for (std::size_t k = 0; k < to_load.size(); ++k) loaded.emplace(to_load[k], std::move(fresh[k]));

    const std::size_t n = std::size_t(grid.width) * std::size_t(h);
    std::vector<std::uint8_t> planes(4 * n, 0);
    std::vector<float> exg_row(exg.empty() ? 0 : n), vari_row(vari.empty() ? 0 : n);
    const models::tsan::ForkJoin block_loop;
    tbb::parallel_for(tbb::blocked_range<int>(0, cols), block_loop.each([&](int bc) {
      const Window block{bc * bw, y0, std::min(bw, grid.width - bc * bw), h};
      BlockBuffers buf{std::vector<float>(std::size_t(block.pixels()) * 3, 0.f),
                       std::vector<float>(std::size_t(block.pixels()), 0.f)};
      const cv::Rect bbox(block.x, block.y, block.width, block.height);
      for (std::size_t i : needed) {  // frame order: sums do not depend on scheduling
        const cv::Rect region = boxes[i] & bbox;
        if (region.area() > 0) accumulate(loaded.at(i), block, region, options.feather_power, buf);
      }
      for (int y = 0; y < block.height; ++y)
        for (int x = 0; x < block.width; ++x) {
          const std::size_t o = std::size_t(y) * block.width + x;
          const std::size_t d = std::size_t(y) * grid.width + std::size_t(block.x + x);
          const float wsum = buf.weight[o];
          float rgb[3] = {NAN, NAN, NAN};
          if (wsum > 0) {
            for (int c = 0; c < 3; ++c) {
              rgb[c] = std::min(255.f, buf.sum[3 * o + std::size_t(c)] / wsum);
              planes[std::size_t(c) * n + d] = std::uint8_t(std::lround(rgb[c]));
            }
            planes[3 * n + d] = 255;
          }
          if (!exg_row.empty()) exg_row[d] = wsum > 0 ? models::excess_green(rgb[0], rgb[1], rgb[2]) : NAN;
          if (!vari_row.empty()) vari_row[d] = wsum > 0 ? models::vari(rgb[0], rgb[1], rgb[2]) : NAN;
        }
    }));
    block_loop.joined();
    const Window row{0, y0, grid.width, h};
    for (auto& o : rgba)
      for (int b = 0; b < 4; ++b) o->writer().write(b + 1, row, planes.data() + std::size_t(b) * n, GDT_Byte);
    for (auto& o : exg) o->writer().write(1, row, exg_row.data(), GDT_Float32);
    for (auto& o : vari) o->writer().write(1, row, vari_row.data(), GDT_Float32);
    if (progress) progress(0.9 * double(br + 1) / rows);
  }
  const double blend_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (auto& o : rgba) o->commit({});
  for (auto& o : exg) o->commit({});
  for (auto& o : vari) o->commit({});
  if (progress) progress(1.0);
  return blend_s;
}

}  // namespace qinling::raster
