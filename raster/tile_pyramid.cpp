#include "raster/tile_pyramid.hpp"

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "models/tsan_annotations.hpp"
#include "raster/tile_combine.hpp"
#include "raster/tile_draw.hpp"
#include "raster/tile_journal.hpp"
#include "raster/tile_parts.hpp"
#include "raster/tile_rows.hpp"

namespace qinling::raster {
namespace {

constexpr int kTile = 256;
constexpr int kWarpTiles = 4;  // tiles per warp block: fixed, so results never depend on threads
constexpr int kBands = 4;      // bilinear value layers: row bands per warp block, one task each
// Source rows decoded once for all threads, up to this many bytes (else each thread reads its own).
constexpr std::size_t kSharedRowsBytes = std::size_t(256) << 20;

// One row of tiles of one level, as an image: cols*256 x 256 pixels of `channels` floats.
// Empty pixels are NaN (value layers) or all-zero RGBA.
struct Strip {
  int row = -1, col0 = 0, cols = 0, channels = 1;
  std::vector<float> px;
  // `fill`: set every pixel empty; else the caller writes every pixel itself.
  void reset(int r, int c0, int n, int ch, bool fill = true) {
    row = r;
    col0 = c0;
    cols = n;
    channels = ch;
    if (fill)
      px.assign(std::size_t(n) * kTile * kTile * ch, ch == 1 ? NAN : 0.f);
    else
      px.resize(std::size_t(n) * kTile * kTile * ch);
  }
  std::size_t line() const { return std::size_t(cols) * kTile * channels; }
  float* at(int x, int y) { return px.data() + std::size_t(y) * line() + std::size_t(x) * channels; }
  const float* at(int x, int y) const { return px.data() + std::size_t(y) * line() + std::size_t(x) * channels; }
};

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
    if (src.kind == LayerKind::value) {
      // Built once here (footprint_in left the operation in GDAL's cache); each thread copies it.
      to_source_ = std::make_unique<SourceTransform>(open_raster(src.path).get(), tms.crs_wkt(), src.path);
      if (opt.shade)
        shade_to_source_ = std::make_unique<SourceTransform>(open_raster(opt.shade->path).get(), tms.crs_wkt(),
                                                             opt.shade->path);
      if (alg_ == GRA_Bilinear) rows_ = std::make_unique<SourceRows>(src, kSharedRowsBytes);
    }
  }

  PyramidResult run() {
    const TileRange& deep = levels_.front().range;
    result_.drawn.assign(levels_.size(), 0);
    if (opt_.split.parts <= 1)
      render_rows(deep.row0, deep.row1);
    else
      run_split();
    for (auto it = levels_.rbegin(); it != levels_.rend(); ++it) result_.ranges.push_back(it->range);
    return result_;
  }

 private:
  struct Level {
    TileRange range;
    Strip pending;  // the parent row being filled from this level's rows
  };

  void render_rows(int first, int last) {
    const TileRange& deep = levels_.front().range;
    Strip strip;
    for (int row = first; row <= last; ++row) {
      strip.reset(row, deep.col0, deep.col1 - deep.col0 + 1, channels_, false);  // warp_row writes every pixel
      warp_row(strip);
      push(0, strip);
      if (opt_.progress) opt_.progress(double(row - deep.row0 + 1) / (deep.row1 - deep.row0 + 1));
    }
  }

  // The deepest rows [first, last] under rows [b0, b1) of level `li` (clipped to the layer).
  std::pair<int, int> deep_rows(std::size_t li, int b0, int b1) const {
    const TileRange& deep = levels_.front().range;
    return {std::max(deep.row0, b0 << li), std::min(deep.row1, (b1 << li) - 1)};
  }

  void run_split() {
    const PyramidSplit& sp = opt_.split;
    // Split where a level has a few rows per part (balance), as far from the deepest level as
    // possible (fewer pixels of split rows travel, fewer levels are left to part 0).
    std::size_t li = 0;
    for (std::size_t l = levels_.size(); l-- > 0;)
      if (levels_[l].range.row1 - levels_[l].range.row0 + 1 >= 4 * sp.parts) {
        li = l;
        break;
      }
    const TileRange& band = levels_[li].range;
    std::vector<std::int64_t> weights;
    for (int r = band.row0; r <= band.row1; ++r) {
      const auto [a, b] = deep_rows(li, r, r + 1);
      weights.push_back(std::int64_t(b - a + 1));
    }
    // Part 0 removes every part file, whatever happens; the others have closed theirs by then.
    struct Cleanup {
      explicit Cleanup(const PyramidSplit& s) : sp(s) {}  // clang 14 lacks C++20 aggregate init with ()
      const PyramidSplit& sp;
      ~Cleanup() {
        std::error_code ec;
        for (int p = 1; p < sp.parts; ++p) std::filesystem::remove(sp.part_path(p), ec);
      }
    };
    std::optional<Cleanup> cleanup;
    if (sp.part == 0) cleanup.emplace(sp);  // in place: a temporary would clean up at once
    std::exception_ptr failure;
    try {
      const auto [first, last] = sp.share(weights);
      const auto [row_a, row_b] = deep_rows(li, band.row0 + int(first), band.row0 + int(last));
      if (sp.part != 0) {
        TilePartWriter out(sp.part_path(sp.part));
        part_out_ = &out;
        split_li_ = li;
        render_rows(row_a, row_b);
        part_out_ = nullptr;
        out.close();
      } else {
        render_rows(row_a, row_b);  // part 0's bands come first
      }
    } catch (...) {
      part_out_ = nullptr;
      failure = std::current_exception();
    }
    sp.wait(failure);
    if (sp.part != 0) return;
    result_.rendered_per_part.assign(std::size_t(sp.parts), 0);
    const TileRange& deep = levels_.front().range;
    TilePartRecord rec;
    for (int p = 1; p < sp.parts; ++p) {
      TilePartReader in(sp.part_path(p));
      long long n = 0;
      while (in.next(rec)) {
        if (rec.kind == TilePartRecord::Kind::tile) {
          replay(rec);
          ++n;
          continue;
        }
        Strip strip;
        strip.row = rec.y, strip.col0 = rec.x, strip.cols = rec.cols, strip.channels = rec.channels;
        if (strip.col0 != band.col0 || strip.cols != band.col1 - band.col0 + 1 || strip.channels != channels_ ||
            rec.px.size() != std::size_t(strip.cols) * kTile * kTile * channels_ || strip.row < band.row0 ||
            strip.row > band.row1)
          throw ProcessingError(sp.part_path(p) + ": a rank's part does not match this pyramid");
        strip.px = std::move(rec.px);
        fold(li, strip);
        if (opt_.progress)
          opt_.progress(double(deep_rows(li, strip.row, strip.row + 1).second - deep.row0 + 1) /
                        (deep.row1 - deep.row0 + 1));
      }
      result_.rendered_per_part[std::size_t(p)] = n;
    }
    result_.rendered_per_part[0] = rendered_;  // its bands and every level above the split
  }

  void warp_row(Strip& strip) {
    deep_hash_.assign(std::size_t(strip.cols), 0);
    const int blocks = (strip.cols + kWarpTiles - 1) / kWarpTiles;
    const int z = levels_.front().range.z;
    const models::tsan::ForkJoin fork_join;  // TSan marks (models/tsan_annotations.hpp)
    if (src_.kind == LayerKind::rgba) {
      tbb::parallel_for(tbb::blocked_range<int>(0, strip.cols), fork_join.each([&](int c) {
        Handles& h = handles_.local();
        if (!h.src) h.src = open_raster(src_.path);
        if (!h.warped) h.warped = open_native_warped(h.src.get(), *opt_.tms);
        read_tile_like_gdal2tiles(h.warped.get(), *opt_.tms, z, strip.col0 + c, strip.row, strip.at(c * kTile, 0),
                                  strip.line());
        deep_hash_[c] = tile_hash(strip, c);
      }));
      fork_join.joined();
      return;
    }
    auto warper = [&](Handles& h) -> TileWarper& {
      if (!h.warper) h.warper = std::make_unique<TileWarper>(src_, *opt_.tms, alg_, to_source_.get());
      return *h.warper;
    };
    const SourceRows* rows = nullptr;
    if (rows_) {
      // The source rows this row of tiles reads, decoded once for every thread.
      std::vector<std::pair<int, int>> need(std::size_t(blocks), {0, 0});
      const models::tsan::ForkJoin bounds_fj;
      tbb::parallel_for(tbb::blocked_range<int>(0, blocks), bounds_fj.each([&](int b) {
        const int c0 = b * kWarpTiles, n = std::min(kWarpTiles, strip.cols - c0);
        need[b] = warper(handles_.local()).source_rows(z, (strip.col0 + c0) * kTile, strip.row * kTile, n * kTile, kTile);
      }));
      bounds_fj.joined();
      int y0 = rows_->height(), y1 = 0;
      for (const auto& [a, e] : need)
        if (a < e) y0 = std::min(y0, a), y1 = std::max(y1, e);
      if (y0 < y1 && rows_->cover(y0, y1)) rows = rows_.get();
    }
    if (channels_ == 1 && alg_ == GRA_Bilinear) {
      // A few blocks per row of tiles share two threads badly: each block's rows are shared out in
      // bands (the same values as warping the block at once), then the tiles are hashed.
      const models::tsan::ForkJoin band_fj;
      tbb::parallel_for(tbb::blocked_range<int>(0, blocks * kBands), band_fj.each([&](int task) {
        const int b = task / kBands, r0 = task % kBands * (kTile / kBands);
        const int c0 = b * kWarpTiles, n = std::min(kWarpTiles, strip.cols - c0);
        warper(handles_.local())
            .warp_rows(z, (strip.col0 + c0) * kTile, strip.row * kTile, n * kTile, r0, r0 + kTile / kBands,
                       strip.at(c0 * kTile, r0), strip.line(), rows);
      }));
      band_fj.joined();
      const models::tsan::ForkJoin hash_fj;
      tbb::parallel_for(tbb::blocked_range<int>(0, strip.cols),
                        hash_fj.each([&](int c) { deep_hash_[c] = tile_hash(strip, c); }));
      hash_fj.joined();
      return;
    }
    const models::tsan::ForkJoin warp_fj;
    tbb::parallel_for(tbb::blocked_range<int>(0, blocks), warp_fj.each([&](int b) {
      Handles& h = handles_.local();
      const int c0 = b * kWarpTiles, n = std::min(kWarpTiles, strip.cols - c0);
      const int px0 = (strip.col0 + c0) * kTile, py0 = strip.row * kTile;
      // Tiles are hashed right after their warp, while their pixels are still in cache.
      if (channels_ == 1) {
        warper(h).warp(z, px0, py0, n * kTile, kTile, strip.at(c0 * kTile, 0), strip.line(), rows);
        for (int c = c0; c < c0 + n; ++c) deep_hash_[c] = tile_hash(strip, c);
        return;
      }
      if (!h.shade) h.shade = std::make_unique<TileWarper>(*opt_.shade, *opt_.tms, GRA_Bilinear, shade_to_source_.get());
      const std::size_t w = std::size_t(n) * kTile;
      h.buf.resize(2 * w * kTile);
      warper(h).warp(z, px0, py0, int(w), kTile, h.buf.data(), w, rows);
      h.shade->warp(z, px0, py0, int(w), kTile, h.buf.data() + w * kTile, w);
      for (int y = 0; y < kTile; ++y) {
        float* o = strip.at(c0 * kTile, y);
        for (std::size_t x = 0; x < w; ++x) {
          o[2 * x] = h.buf[y * w + x];
          o[2 * x + 1] = h.buf[w * kTile + y * w + x];
        }
      }
      for (int c = c0; c < c0 + n; ++c) deep_hash_[c] = tile_hash(strip, c);
    }));
    warp_fj.joined();
  }

  std::uint64_t tile_hash(const Strip& s, int c) const {
    return pixel_hash(s.at(c * kTile, 0), std::size_t(kTile) * channels_, kTile, s.line());
  }

  // Draws tile `c` of a strip; empty when the tile is fully transparent.
  std::string draw(const Strip& s, int c) const {
    return draw_tile(s.at(c * kTile, 0), s.line(), kTile, {channels_, opt_.ramp, opt_.shade_strength, opt_.format});
  }

  // Hashes, draws and encodes a strip's tiles in parallel (not those whose pixels are unchanged
  // since the previous render, nor those an interrupted run drew already), then hands them over in
  // column order (to the part file, for a part other than 0 of a split run).
  void emit(int z, const Strip& s) {
    std::vector<std::string> encoded(s.cols);
    std::vector<std::uint64_t> hash(s.cols);
    std::vector<char> same(s.cols, 0), resumed(s.cols, 0);
    rendered_ += s.cols;
    // Tiles are handed over in column order as soon as they and those left of them are ready, by
    // whichever thread finishes such a run (one at a time, under `handing`), so writing files
    // overlaps drawing the next tiles instead of following the whole row.
    std::vector<std::atomic<char>> ready(std::size_t(s.cols));
    std::atomic<int> next{0};
    std::mutex handing;
    auto hand_over = [&] {
      for (;;) {
        std::unique_lock<std::mutex> lock(handing, std::try_to_lock);
        if (!lock.owns_lock()) return;  // the thread handing over will see what is ready
        int c = next.load();
        for (; c < s.cols && ready[c].load(std::memory_order_acquire); ++c) {
          if (part_out_)
            part_out_->tile(z, s.col0 + c, s.row, hash[c], encoded[c]);
          else
            deliver(z, s.col0 + c, s.row, hash[c], same[c], resumed[c], encoded[c], [&] { return draw(s, c); });
          next.store(c + 1);
        }
        lock.unlock();
        // A tile that became ready after the scan, while the lock was still held: take it too.
        if (c >= s.cols || !ready[c].load(std::memory_order_acquire)) return;
      }
    };
    const models::tsan::ForkJoin fork_join;  // TSan marks (models/tsan_annotations.hpp)
    tbb::parallel_for(tbb::blocked_range<int>(0, s.cols), fork_join.each([&](int c) {
      const std::uint64_t key = pack_tile(z, s.col0 + c, s.row);
      hash[c] = z == levels_.front().range.z ? deep_hash_[c] : tile_hash(s, c);
      if (opt_.previous && !part_out_) {
        auto it = opt_.previous->find(key);
        same[c] = it != opt_.previous->end() && it->second == hash[c];
      }
      if (same[c]) {
        ready[c].store(1, std::memory_order_release);
        return hand_over();
      }
      if (opt_.journal && !part_out_)
        if (auto j = opt_.journal->find(opt_.tms->id, key, hash[c])) encoded[c] = std::move(*j), resumed[c] = 1;
      if (!resumed[c]) encoded[c] = draw(s, c);
      ready[c].store(1, std::memory_order_release);
      hand_over();
    }));
    fork_join.joined();
    hand_over();  // nothing is left by then; kept as a guarantee
    if (next.load() != s.cols) throw ProcessingError("tile pyramid: a row of tiles was not handed over completely");
  }

  // A tile another part rendered, handed over as emit() would have (kept when unchanged, taken
  // from the journal when an interrupted run drew it: the same bytes either way).
  void replay(TilePartRecord& t) {
    const std::uint64_t key = pack_tile(t.z, t.x, t.y);
    bool same = false, resumed = false;
    if (opt_.previous) {
      auto it = opt_.previous->find(key);
      same = it != opt_.previous->end() && it->second == t.hash;
    }
    if (!same && opt_.journal)
      if (auto j = opt_.journal->find(opt_.tms->id, key, t.hash)) t.data = std::move(*j), resumed = true;
    const std::string drawn = t.data;
    deliver(t.z, t.x, t.y, t.hash, same, resumed, t.data, [&] { return drawn; });
  }

  template <class Redraw>
  void deliver(int z, int x, int y, std::uint64_t hash, bool same, bool resumed, std::string& encoded,
               Redraw redraw) {
    const std::uint64_t key = pack_tile(z, x, y);
    if (same) {
      if (sink_.holds(z, x, y)) {
        sink_.keep(z, x, y);
        ++result_.tiles_kept;
        ++result_.tiles_written;
        result_.hashes[key] = hash;
        return;
      }
      encoded = redraw();  // an output lost the tile: draw it after all
    }
    if (encoded.empty()) {
      ++result_.tiles_empty;
      return;
    }
    sink_.put(z, x, y, encoded);
    ++result_.tiles_written;
    result_.hashes[key] = hash;
    if (resumed) {
      ++result_.tiles_resumed;
      return;
    }
    ++result_.drawn[std::size_t(z - opt_.zoom.min)];
    if (opt_.journal) opt_.journal->record(opt_.tms->id, key, hash, encoded);
  }

  // Emits a finished row of level `li` and folds it into its parent row (a part other than 0 of a
  // split run writes its split level's rows to its part file instead).
  void push(std::size_t li, const Strip& s) {
    emit(levels_[li].range.z, s);
    if (part_out_ && li == split_li_) {
      part_out_->strip(s.row, s.col0, s.cols, s.channels, s.px);
      return;
    }
    fold(li, s);
  }

  void fold(std::size_t li, const Strip& s) {
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
    const models::tsan::ForkJoin fork_join;  // TSan marks (models/tsan_annotations.hpp)
    tbb::parallel_for(tbb::blocked_range<int>(0, kTile / 2), fork_join.each([&](int py) {
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
    }));
    fork_join.joined();
  }

  const TileSource& src_;
  const PyramidOptions& opt_;
  TileSink& sink_;
  const int channels_;
  GDALResampleAlg alg_ = GRA_Bilinear;
  void (*combine_)(const float* const[4], float*) = nullptr;
  std::vector<Level> levels_;  // deepest first
  std::vector<std::uint64_t> deep_hash_;  // pixel hashes of the deepest row being emitted
  struct Handles {
    DatasetPtr src, warped;  // `warped` reads `src`: declared after it, so closed first
    std::unique_ptr<TileWarper> warper, shade;
    std::vector<float> buf;
  };
  tbb::enumerable_thread_specific<Handles> handles_;
  std::unique_ptr<SourceTransform> to_source_, shade_to_source_;  // value layers: copied per thread
  std::unique_ptr<SourceRows> rows_;                               // bilinear value layers
  PyramidResult result_;
  TilePartWriter* part_out_ = nullptr;  // split runs, parts other than 0: where tiles go
  std::size_t split_li_ = 0;            // the split level (index into levels_)
  long long rendered_ = 0;              // tiles this process hashed and drew (or kept)
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
  const PyramidSplit& sp = options.split;
  if (sp.parts > 1 && (sp.part < 0 || sp.part >= sp.parts || !sp.share || !sp.part_path || !sp.wait))
    throw ProcessingError("build_pyramid: a split run needs its part, share, part files and wait");
  PyramidBuilder builder(source, footprint, options, sink);
  tbb::task_arena arena(std::max(1, options.threads));
  return arena.execute([&] { return builder.run(); });
}

}  // namespace qinling::raster
