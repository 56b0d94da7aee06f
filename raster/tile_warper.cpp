// TileWarper (declared in raster/tile_source.hpp): warping blocks of a level's pixel grid.
#include <gdal_alg.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "raster/tile_rows.hpp"
#include "raster/tile_source.hpp"

namespace qinling::raster {
namespace {

using Transformer = TransformerPtr;  // raster/gdal_io.hpp

struct WarpOptionsFree {
  void operator()(GDALWarpOptions* w) const noexcept { GDALDestroyWarpOptions(w); }
};

}  // namespace

TileWarper::TileWarper(const TileSource& source, const TileMatrixSet& tms, GDALResampleAlg alg,
                       const SourceTransform* shared)
    : source_(source), tms_(tms), alg_(alg), src_(open_raster(source.path)) {
  to_source_ = shared ? std::make_unique<SourceTransform>(*shared)
                      : std::make_unique<SourceTransform>(src_.get(), tms.crs_wkt(), source.path);
  nodata_ = src_->GetRasterBand(1)->GetNoDataValue(&has_nodata_);
}

TileWarper::~TileWarper() {
  if (transformer_) GDALDestroyTransformer(transformer_);
}

void TileWarper::set_block(int z, int px0, int py0) {
  const double res = tms_.resolution(z);
  const double gt[6] = {tms_.origin_x + px0 * res, res, 0, tms_.origin_y - py0 * res, 0, -res};
  std::copy(gt, gt + 6, gt_);
}

void TileWarper::warp(int z, int px0, int py0, int w, int h, float* out, std::size_t out_line_floats,
                      const SourceRows* rows) {
  set_block(z, px0, py0);
  if (splits_rows()) return bilinear(w, 0, h, out, out_line_floats, rows);
  gdal_warp(w, h, out, out_line_floats);
}

void TileWarper::warp_rows(int z, int px0, int py0, int w, int r0, int r1, float* out,
                           std::size_t out_line_floats, const SourceRows* rows) {
  if (!splits_rows()) throw ProcessingError("TileWarper::warp_rows: only bilinear value layers warp by rows");
  set_block(z, px0, py0);
  bilinear(w, r0, r1, out, out_line_floats, rows);
}

std::pair<int, int> TileWarper::source_rows(int z, int px0, int py0, int w, int h) {
  set_block(z, px0, py0);
  const int H = src_->GetRasterYSize();
  double ymin = 1e300, ymax = -1e300;
  auto add = [&](const double* ry, int n) {
    for (int i = 0; i < n; ++i)
      if (ry[i] > -1e29) ymin = std::min(ymin, ry[i]), ymax = std::max(ymax, ry[i]);
  };
  sx_.resize(std::size_t(std::max(w, h)));
  sy_.resize(sx_.size());
  for (int r : {0, h - 1}) {
    approx_row(r, w, sx_.data(), sy_.data());
    add(sy_.data(), w);
  }
  // The left and right columns, every 8th row and the last.
  int n = 0;
  for (int r = 0; r < h; r = r + 8 < h || r == h - 1 ? r + 8 : h - 1)
    for (int i : {0, w - 1}) {
      sx_[n] = gt_[0] + (i + 0.5) * gt_[1];
      sy_[n] = gt_[3] + (r + 0.5) * gt_[5];
      ++n;
    }
  std::vector<int> ok(static_cast<std::size_t>(n));
  to_source_->to_source(n, sx_.data(), sy_.data(), ok.data());
  for (int i = 0; i < n; ++i)
    if (!ok[i]) sy_[i] = -1e30;
  add(sy_.data(), n);
  if (ymin > ymax) return {0, 0};
  return {std::clamp(int(std::floor(ymin - 0.5)) - 2, 0, H),
          std::clamp(int(std::floor(ymax + 0.5)) + 3, 0, H)};
}

void TileWarper::gdal_warp(int w, int h, float* out, std::size_t out_line_floats) {
  const bool value = source_.kind == LayerKind::value;
  const int bands = value ? 1 : 4;
  ErrorTrap trap;
  if (!transformer_) {
    const std::string wkt = tms_.crs_wkt();
    char** opts = CSLSetNameValue(nullptr, "DST_SRS", wkt.c_str());
    transformer_ = GDALCreateGenImgProjTransformer2(src_.get(), nullptr, opts);
    CSLDestroy(opts);
    if (!transformer_)
      throw ProcessingError(source_.path + ": cannot set up the warp to " + tms_.id + " (" + trap.message() +
                            ")");
  }
  GDALSetGenImgProjTransformerDstGeoTransform(transformer_, gt_);
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  DatasetPtr dst(mem->Create("", w, h, bands, value ? GDT_Float32 : GDT_Byte, nullptr));
  dst->SetGeoTransform(gt_);

  std::unique_ptr<GDALWarpOptions, WarpOptionsFree> wo(GDALCreateWarpOptions());
  wo->hSrcDS = src_.get();
  wo->hDstDS = dst.get();
  wo->eResampleAlg = alg_;
  wo->eWorkingDataType = value ? GDT_Float32 : GDT_Byte;
  wo->nBandCount = value ? 1 : 3;
  wo->panSrcBands = static_cast<int*>(CPLMalloc(sizeof(int) * wo->nBandCount));
  wo->panDstBands = static_cast<int*>(CPLMalloc(sizeof(int) * wo->nBandCount));
  for (int b = 0; b < wo->nBandCount; ++b) wo->panSrcBands[b] = wo->panDstBands[b] = b + 1;
  if (!value) {
    wo->nSrcAlphaBand = source_.alpha_band;
    wo->nDstAlphaBand = 4;
  }
  const bool is_float = source_.type == GDT_Float32 || source_.type == GDT_Float64;
  if (has_nodata_ || (value && is_float)) {
    wo->padfSrcNoDataReal = static_cast<double*>(CPLMalloc(sizeof(double) * wo->nBandCount));
    for (int b = 0; b < wo->nBandCount; ++b) wo->padfSrcNoDataReal[b] = has_nodata_ ? nodata_ : NAN;
    wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "UNIFIED_SRC_NODATA", "YES");
  }
  if (value) {
    wo->padfDstNoDataReal = static_cast<double*>(CPLMalloc(sizeof(double)));
    wo->padfDstNoDataReal[0] = NAN;
  }
  wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "INIT_DEST", value ? "NO_DATA" : "0");

  // The usual 1/8-pixel approximation; blocks are fixed, so results do not depend on threads.
  Transformer approx(GDALCreateApproxTransformer(GDALGenImgProjTransform, transformer_, 0.125));
  wo->pfnTransformer = GDALApproxTransform;
  wo->pTransformerArg = approx.get();

  GDALWarpOperation op;
  CPLErr err = op.Initialize(wo.get());
  if (err == CE_None) err = op.ChunkAndWarpImage(0, 0, w, h);
  if (err == CE_None)
    err = dst->RasterIO(GF_Read, 0, 0, w, h, out, w, h, GDT_Float32, bands, nullptr, sizeof(float) * bands,
                        sizeof(float) * out_line_floats, sizeof(float), nullptr);
  check_cpl(err, trap, source_.path, "warping to " + tms_.id, true);
}

// Source pixel coordinates of destination pixel centres (i + 0.5, r + 0.5) for i in [0, w): exact
// at the ends and the middle of a span, linear in between when the middle is within 1/8 pixel
// (GDAL's approximate transformer rule), else the span is halved. Failed points get -1e30.
void TileWarper::approx_row(int r, int w, double* rx, double* ry) {
  auto exact = [&](int i, double& x, double& y) {
    // What GDAL's GenImgProj transformer does for destination pixel (i + 0.5, r + 0.5).
    double px = gt_[0] + (i + 0.5) * gt_[1] + (r + 0.5) * gt_[2],
           py = gt_[3] + (i + 0.5) * gt_[4] + (r + 0.5) * gt_[5];
    int ok = 0;
    to_source_->to_source(1, &px, &py, &ok);
    x = ok ? px : -1e30;
    y = ok ? py : -1e30;
    return ok != 0;
  };
  const bool ok0 = exact(0, rx[0], ry[0]);
  const bool ok1 = w == 1 || exact(w - 1, rx[w - 1], ry[w - 1]);
  todo_.assign(1, Span{0, w - 1, ok0 && ok1});
  while (!todo_.empty()) {
    const Span s = todo_.back();
    todo_.pop_back();
    if (s.b - s.a < 2) continue;
    const int m = (s.a + s.b) / 2;
    const bool okm = exact(m, rx[m], ry[m]);
    const double t = double(m - s.a) / (s.b - s.a);
    if (s.ok && okm && std::abs(rx[s.a] + (rx[s.b] - rx[s.a]) * t - rx[m]) <= 0.125 &&
        std::abs(ry[s.a] + (ry[s.b] - ry[s.a]) * t - ry[m]) <= 0.125) {
      for (int i = s.a + 1; i < s.b; ++i) {
        if (i == m) continue;
        const double f = double(i - s.a) / (s.b - s.a);
        rx[i] = rx[s.a] + (rx[s.b] - rx[s.a]) * f;
        ry[i] = ry[s.a] + (ry[s.b] - ry[s.a]) * f;
      }
      continue;
    }
    todo_.push_back({s.a, m, okm && rx[s.a] > -1e29});
    todo_.push_back({m, s.b, okm && rx[s.b] > -1e29});
  }
}

namespace {

// floor() for the sample positions (|v| far below 2^31), without a libm call.
inline int floor_int(double v) {
  const int t = int(v);
  return t - (v < t);
}

// GDAL's bilinear rule for one row of destination pixels with source coordinates (rx, ry): the
// valid neighbours among the four inside the layer (W x H), weights renormalised. `src[j]` is
// source row y0 + j from column x0 on; ww x wh is the part of the layer it holds, which covers
// every neighbour inside the layer.
void sample_row(const double* rx, const double* ry, int w, float* o, const float* const* src, int x0, int y0,
                int ww, int wh, int W, int H) {
  for (int i = 0; i < w; ++i) {
    if (rx[i] < 0 || ry[i] < 0 || rx[i] >= W || ry[i] >= H) continue;
    const double u = rx[i] - 0.5 - x0, v = ry[i] - 0.5 - y0;
    const int ix = floor_int(u), iy = floor_int(v);
    const double fx = u - ix, fy = v - iy;
    if (ix >= 0 && iy >= 0 && ix + 1 < ww && iy + 1 < wh) {
      // Four neighbours inside (nearly every pixel): the general rule below, unrolled. The weights
      // sum to 1 within a few ulps of a double, far below a float's precision, so the division
      // (a fifth of this loop's time) is left out.
      const float a = src[iy][ix], b = src[iy][ix + 1], c = src[iy + 1][ix], d = src[iy + 1][ix + 1];
      if (!(std::isnan(a) || std::isnan(b) || std::isnan(c) || std::isnan(d))) {
        o[i] = float((1 - fy) * (1 - fx) * a + (1 - fy) * fx * b + fy * (1 - fx) * c + fy * fx * d);
        continue;
      }
    }
    double sum = 0, wsum = 0;
    for (int j = 0; j < 2; ++j) {
      const int yy = iy + j;
      if (yy < 0 || yy >= wh) continue;
      const double wy = j ? fy : 1 - fy;
      for (int k = 0; k < 2; ++k) {
        const int xx = ix + k;
        if (xx < 0 || xx >= ww) continue;
        const float s = src[yy][xx];
        if (std::isnan(s)) continue;
        const double wgt = wy * (k ? fx : 1 - fx);
        sum += wgt * s;
        wsum += wgt;
      }
    }
    if (wsum > 1e-5) o[i] = float(sum / wsum);
  }
}

}  // namespace

bool TileWarper::bilinear_shared(int w, int r0, int r1, float* out, std::size_t out_line_floats,
                                 const SourceRows& rows) {
  // One pass, row by row (coordinates stay in L1): the shared rows hold whole layer rows, so the
  // window is the layer's width and the held rows, as long as every row a pixel needs is held.
  const int W = src_->GetRasterXSize(), H = src_->GetRasterYSize();
  const int first = rows.first(), held = rows.last() - first;
  row_ptr_.resize(std::size_t(held));
  for (int j = 0; j < held; ++j) row_ptr_[j] = rows.row(first + j);
  sx_.resize(std::size_t(w));
  sy_.resize(std::size_t(w));
  for (int r = r0; r < r1; ++r) {
    approx_row(r, w, sx_.data(), sy_.data());
    double lo = 1e300, hi = -1e300;
    for (int i = 0; i < w; ++i)
      if (sx_[i] >= 0 && sy_[i] >= 0 && sx_[i] < W && sy_[i] < H)
        lo = std::min(lo, sy_[i]), hi = std::max(hi, sy_[i]);
    float* o = out + std::size_t(r - r0) * out_line_floats;
    std::fill_n(o, w, NAN);
    if (lo > hi) continue;
    if (!rows.holds(std::max(0, int(std::floor(lo - 0.5))), std::min(H, int(std::floor(hi + 0.5)) + 1)))
      return false;
    sample_row(sx_.data(), sy_.data(), w, o, row_ptr_.data(), 0, first, W, held, W, H);
  }
  return true;
}

void TileWarper::bilinear(int w, int r0, int r1, float* out, std::size_t out_line_floats,
                          const SourceRows* rows) {
  if (rows && bilinear_shared(w, r0, r1, out, out_line_floats, *rows)) return;
  const int W = src_->GetRasterXSize(), H = src_->GetRasterYSize(), h = r1 - r0;
  sx_.resize(std::size_t(w) * h);
  sy_.resize(std::size_t(w) * h);
  double xmin = 1e300, xmax = -1e300, ymin = 1e300, ymax = -1e300;
  for (int r = 0; r < h; ++r) {
    double* rx = sx_.data() + std::size_t(r) * w;
    double* ry = sy_.data() + std::size_t(r) * w;
    approx_row(r0 + r, w, rx, ry);
    for (int i = 0; i < w; ++i) {
      if (rx[i] < 0 || ry[i] < 0 || rx[i] >= W || ry[i] >= H) continue;
      xmin = std::min(xmin, rx[i]), xmax = std::max(xmax, rx[i]);
      ymin = std::min(ymin, ry[i]), ymax = std::max(ymax, ry[i]);
    }
  }
  for (int r = 0; r < h; ++r) std::fill_n(out + std::size_t(r) * out_line_floats, w, NAN);
  if (xmin > xmax) return;  // these rows lie outside the layer
  // The window the valid coordinates need: it holds every neighbour inside the layer, so the
  // result is the same as sampling whole layer rows (bilinear_shared).
  const int x0 = std::max(0, int(std::floor(xmin - 0.5))), y0 = std::max(0, int(std::floor(ymin - 0.5)));
  const int x1 = std::min(W, int(std::floor(xmax + 0.5)) + 1),
            y1 = std::min(H, int(std::floor(ymax + 0.5)) + 1);
  const int ww = x1 - x0, wh = y1 - y0;
  window_.resize(std::size_t(ww) * wh);
  ErrorTrap trap;
  const CPLErr err = src_->GetRasterBand(1)->RasterIO(GF_Read, x0, y0, ww, wh, window_.data(), ww, wh,
                                                      GDT_Float32, 0, 0, nullptr);
  check_cpl(err, trap, source_.path, "reading for " + tms_.id + " tiles", true);
  if (has_nodata_ && !std::isnan(nodata_))
    for (float& v : window_)
      if (v == float(nodata_)) v = NAN;
  row_ptr_.resize(std::size_t(wh));
  for (int j = 0; j < wh; ++j) row_ptr_[j] = window_.data() + std::size_t(j) * ww;
  for (int r = 0; r < h; ++r)
    sample_row(sx_.data() + std::size_t(r) * w, sy_.data() + std::size_t(r) * w, w,
               out + std::size_t(r) * out_line_floats, row_ptr_.data(), x0, y0, ww, wh, W, H);
}

}  // namespace qinling::raster
