#include "raster/tile_pyramid.hpp"

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

namespace qinling::raster {
namespace {

constexpr int kTile = 256;
constexpr int kWarpTiles = 4;  // tiles per warp block: fixed, so results never depend on threads

// One row of tiles of one level, as an image: cols*256 x 256 pixels of `channels` floats.
// Empty pixels are NaN (value layers) or all-zero RGBA.
struct Strip {
  int row = -1, col0 = 0, cols = 0, channels = 1;
  std::vector<float> px;
  void reset(int r, int c0, int n, int ch) {
    row = r;
    col0 = c0;
    cols = n;
    channels = ch;
    px.assign(std::size_t(n) * kTile * kTile * ch, ch == 1 ? NAN : 0.f);
  }
  std::size_t line() const { return std::size_t(cols) * kTile * channels; }
  float* at(int x, int y) { return px.data() + std::size_t(y) * line() + std::size_t(x) * channels; }
  const float* at(int x, int y) const { return px.data() + std::size_t(y) * line() + std::size_t(x) * channels; }
};

// Parent pixel from up to four children (nullptr = outside the layer).
void combine_rgba(const float* const c[4], float* out) {
  float a = 0, r = 0, g = 0, b = 0;
  for (int i = 0; i < 4; ++i) {
    if (!c[i] || c[i][3] <= 0) continue;
    a += c[i][3];
    r += c[i][0] * c[i][3];
    g += c[i][1] * c[i][3];
    b += c[i][2] * c[i][3];
  }
  // Colour is averaged over the covered children only, so edges do not darken towards black.
  out[3] = a / 4;
  out[0] = a > 0 ? r / a : 0;
  out[1] = a > 0 ? g / a : 0;
  out[2] = a > 0 ? b / a : 0;
}

void combine_mean(const float* const c[4], float* out) {
  float sum = 0;
  int n = 0;
  for (int i = 0; i < 4; ++i)
    if (c[i] && !std::isnan(*c[i])) sum += *c[i], ++n;
  *out = n ? sum / n : NAN;
}

// Classes: the most frequent child class (the smallest on a tie), never a blend.
void combine_mode(const float* const c[4], float* out) {
  float best = NAN;
  int best_n = 0;
  for (int i = 0; i < 4; ++i) {
    if (!c[i] || std::isnan(*c[i])) continue;
    int n = 0;
    for (int j = 0; j < 4; ++j) n += (c[j] && *c[j] == *c[i]);
    if (n > best_n || (n == best_n && *c[i] < best)) best = *c[i], best_n = n;
  }
  *out = best;
}

// Value layers with a shaded relief carry it as a second channel, averaged like the values.
template <void (*Base)(const float* const[4], float*)>
void combine_with_shade(const float* const c[4], float* out) {
  Base(c, out);
  const float* s[4];
  for (int i = 0; i < 4; ++i) s[i] = c[i] ? c[i] + 1 : nullptr;
  combine_mean(s, out + 1);
}

class PyramidBuilder {
 public:
  PyramidBuilder(const TileSource& src, const Footprint& fp, const PyramidOptions& opt, TileSink& sink)
      : src_(src), opt_(opt), sink_(sink), channels_(src.kind == LayerKind::value ? (opt.shade ? 2 : 1) : 4) {
    const TileMatrixSet& tms = *opt.tms;
    TileRange r = tile_range(tms, opt.zoom.max, fp.bounds);
    for (int z = opt.zoom.max; z >= opt.zoom.min; --z) {
      levels_.push_back({r, Strip{}});
      r = {z - 1, r.col0 >> 1, r.row0 >> 1, r.col1 >> 1, r.row1 >> 1};
    }
    const bool categorical = opt.ramp && opt.ramp->categorical();
    const double ratio = fp.pixel_size / tms.resolution(opt.zoom.max);  // < 1: the layer is finer
    if (ratio < 1 / 1.2)
      alg_ = categorical ? GRA_Mode : GRA_Average;
    else
      alg_ = categorical ? GRA_NearestNeighbour : GRA_Bilinear;
    combine_ = channels_ == 4 ? combine_rgba : categorical ? combine_mode : combine_mean;
    if (channels_ == 2) combine_ = categorical ? combine_with_shade<combine_mode> : combine_with_shade<combine_mean>;
  }

  PyramidResult run() {
    const TileRange& deep = levels_.front().range;
    Strip strip;
    for (int row = deep.row0; row <= deep.row1; ++row) {
      strip.reset(row, deep.col0, deep.col1 - deep.col0 + 1, channels_);
      warp_row(strip);
      push(0, strip);
      if (opt_.progress) opt_.progress(double(row - deep.row0 + 1) / (deep.row1 - deep.row0 + 1));
    }
    for (auto it = levels_.rbegin(); it != levels_.rend(); ++it) result_.ranges.push_back(it->range);
    return result_;
  }

 private:
  struct Level {
    TileRange range;
    Strip pending;  // the parent row being filled from this level's rows
  };

  void warp_row(Strip& strip) {
    const int blocks = (strip.cols + kWarpTiles - 1) / kWarpTiles;
    const int z = levels_.front().range.z;
    if (src_.kind == LayerKind::rgba) {
      tbb::parallel_for(0, strip.cols, [&](int c) {
        Handles& h = handles_.local();
        if (!h.src) h.src = open_raster(src_.path);
        if (!h.warped) h.warped = open_native_warped(h.src.get(), *opt_.tms);
        read_tile_like_gdal2tiles(h.warped.get(), *opt_.tms, z, strip.col0 + c, strip.row, strip.at(c * kTile, 0),
                                  strip.line());
      });
      return;
    }
    tbb::parallel_for(0, blocks, [&](int b) {
      Handles& h = handles_.local();
      if (!h.warper) h.warper = std::make_unique<TileWarper>(src_, *opt_.tms, alg_);
      const int c0 = b * kWarpTiles, n = std::min(kWarpTiles, strip.cols - c0);
      const int px0 = (strip.col0 + c0) * kTile, py0 = strip.row * kTile;
      if (channels_ == 1) {
        h.warper->warp(z, px0, py0, n * kTile, kTile, strip.at(c0 * kTile, 0), strip.line());
        return;
      }
      if (!h.shade) h.shade = std::make_unique<TileWarper>(*opt_.shade, *opt_.tms, GRA_Bilinear);
      const std::size_t w = std::size_t(n) * kTile;
      h.buf.resize(2 * w * kTile);
      h.warper->warp(z, px0, py0, int(w), kTile, h.buf.data(), w);
      h.shade->warp(z, px0, py0, int(w), kTile, h.buf.data() + w * kTile, w);
      for (int y = 0; y < kTile; ++y) {
        float* o = strip.at(c0 * kTile, y);
        for (std::size_t x = 0; x < w; ++x) {
          o[2 * x] = h.buf[y * w + x];
          o[2 * x + 1] = h.buf[w * kTile + y * w + x];
        }
      }
    });
  }

  // Cuts, renders and encodes a strip's tiles in parallel, then hands them over in column order.
  void emit(int z, const Strip& s) {
    std::vector<std::string> encoded(s.cols);
    tbb::parallel_for(0, s.cols, [&](int c) {
      std::vector<std::uint8_t> rgba(std::size_t(kTile) * kTile * 4);
      bool any = false;
      for (int y = 0; y < kTile; ++y) {
        const float* p = s.at(c * kTile, y);
        std::uint8_t* o = rgba.data() + std::size_t(y) * kTile * 4;
        if (channels_ == 1) {
          opt_.ramp->render(p, kTile, o);
        } else if (channels_ == 2) {
          const double st = opt_.shade_strength;
          for (int x = 0; x < kTile; ++x) {
            const Rgba rc = opt_.ramp->colour(p[2 * x]);
            const float sh = p[2 * x + 1];
            const double f = std::isnan(sh) ? 1.0 : 1 - st + st * std::clamp(sh, 0.f, 255.f) / 255.0;
            for (int k = 0; k < 3; ++k) o[4 * x + k] = std::uint8_t(std::lround(rc[k] * f));
            o[4 * x + 3] = rc[3];
          }
        } else {
          for (int x = 0; x < kTile * 4; x += 4) {
            const float a = std::clamp(std::round(p[x + 3]), 0.f, 255.f);
            for (int k = 0; k < 3; ++k) o[x + k] = a > 0 ? std::uint8_t(std::clamp(std::round(p[x + k]), 0.f, 255.f)) : 0;
            o[x + 3] = std::uint8_t(a);
          }
        }
        for (int x = 3; x < kTile * 4 && !any; x += 4) any = o[x] != 0;
      }
      // Ramped layers have few colours: palette PNGs (imagery stays RGBA).
      if (any) encoded[c] = encode_tile(opt_.format, rgba.data(), kTile, kTile, channels_ != 4);
    });
    for (int c = 0; c < s.cols; ++c) {
      if (encoded[c].empty()) {
        ++result_.tiles_empty;
        continue;
      }
      sink_.put(z, s.col0 + c, s.row, encoded[c]);
      ++result_.tiles_written;
    }
  }

  // Emits a finished row of level `li` and folds it into its parent row.
  void push(std::size_t li, const Strip& s) {
    emit(levels_[li].range.z, s);
    if (li + 1 == levels_.size()) return;
    Level& parent = levels_[li + 1];
    const int prow = s.row >> 1;
    if (parent.pending.row != prow)
      parent.pending.reset(prow, parent.range.col0, parent.range.col1 - parent.range.col0 + 1, channels_);
    downsample(s, parent.pending);
    if ((s.row & 1) || s.row == levels_[li].range.row1) {
      push(li + 1, parent.pending);
      parent.pending.row = -1;
    }
  }

  void downsample(const Strip& child, Strip& parent) {
    const int half = child.row & 1, ch = channels_;
    const long child_x0 = long(child.col0) * kTile, parent_x0 = long(parent.col0) * kTile;
    const long child_w = long(child.cols) * kTile;
    tbb::parallel_for(0, kTile / 2, [&](int py) {
      float* out = parent.at(0, half * (kTile / 2) + py);
      for (long px = 0; px < long(parent.cols) * kTile; ++px, out += ch) {
        const float* c[4];
        const long cx = 2 * (parent_x0 + px) - child_x0;
        for (int j = 0; j < 2; ++j)
          for (int i = 0; i < 2; ++i) {
            const long x = cx + i;
            c[j * 2 + i] = (x >= 0 && x < child_w) ? child.at(int(x), 2 * py + j) : nullptr;
          }
        combine_(c, out);
      }
    });
  }

  const TileSource& src_;
  const PyramidOptions& opt_;
  TileSink& sink_;
  const int channels_;
  GDALResampleAlg alg_ = GRA_Bilinear;
  void (*combine_)(const float* const[4], float*) = nullptr;
  std::vector<Level> levels_;  // deepest first
  struct Handles {
    DatasetPtr src, warped;  // `warped` reads `src`: declared after it, so closed first
    std::unique_ptr<TileWarper> warper, shade;
    std::vector<float> buf;
  };
  tbb::enumerable_thread_specific<Handles> handles_;
  PyramidResult result_;
};

}  // namespace

PyramidResult build_pyramid(const TileSource& source, const Footprint& footprint, const PyramidOptions& options,
                            TileSink& sink) {
  if (source.kind == LayerKind::value && options.ramp == nullptr)
    throw ConfigError(source.path + ": a single-band layer needs a colour ramp to be tiled");
  if (options.zoom.min > options.zoom.max || options.zoom.min < options.tms->min_level ||
      options.zoom.max > options.tms->max_level)
    throw ConfigError("zoom range " + std::to_string(options.zoom.min) + "-" + std::to_string(options.zoom.max) +
                      " is not valid for " + options.tms->id + " (levels " + std::to_string(options.tms->min_level) +
                      "-" + std::to_string(options.tms->max_level) + ")");
  PyramidBuilder builder(source, footprint, options, sink);
  tbb::task_arena arena(std::max(1, options.threads));
  return arena.execute([&] { return builder.run(); });
}

}  // namespace qinling::raster
