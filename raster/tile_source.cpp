#include "raster/tile_source.hpp"

#include <gdal_alg.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

namespace qinling::raster {
namespace {

struct TransformerFree {
  void operator()(void* t) const noexcept {
    if (t) GDALDestroyTransformer(t);
  }
};
using Transformer = std::unique_ptr<void, TransformerFree>;

struct WarpOptionsFree {
  void operator()(GDALWarpOptions* w) const noexcept { GDALDestroyWarpOptions(w); }
};

std::string lonlat_wkt() {
  OGRSpatialReference srs;
  srs.importFromEPSG(4326);
  char* wkt = nullptr;
  srs.exportToWkt(&wkt);
  std::string s = wkt ? wkt : "";
  CPLFree(wkt);
  return s;
}

// The bounds and resolution GDAL suggests for warping `ds` into `dst_wkt`.
std::pair<BBox, double> suggested(GDALDataset* ds, const std::string& dst_wkt, const std::string& path) {
  char** opts = CSLSetNameValue(nullptr, "DST_SRS", dst_wkt.c_str());
  ErrorTrap trap;
  Transformer t(GDALCreateGenImgProjTransformer2(ds, nullptr, opts));
  CSLDestroy(opts);
  if (!t) throw InputError(path + ": cannot be transformed to the tile CRS (" + trap.message() + ")");
  double gt[6];
  int nx = 0, ny = 0;
  if (GDALSuggestedWarpOutput(ds, GDALGenImgProjTransform, t.get(), gt, &nx, &ny) != CE_None)
    throw InputError(path + ": cannot compute its footprint in the tile CRS (" + trap.message() + ")");
  BBox b{gt[0], gt[3] + gt[5] * ny, gt[0] + gt[1] * nx, gt[3]};
  return {b, gt[1]};
}

}  // namespace

TileSource describe_tile_source(const std::string& path) {
  DatasetPtr ds = open_raster(path);
  TileSource s;
  s.path = path;
  s.bands = ds->GetRasterCount();
  s.type = ds->GetRasterBand(1)->GetRasterDataType();
  bool all_byte = true;
  for (int b = 1; b <= s.bands; ++b) all_byte = all_byte && ds->GetRasterBand(b)->GetRasterDataType() == GDT_Byte;
  if (all_byte && (s.bands == 3 || s.bands == 4)) {
    s.kind = LayerKind::rgba;
    if (s.bands == 4) s.alpha_band = 4;
  } else if (s.bands == 1) {
    s.kind = LayerKind::value;
  } else {
    throw InputError(path + ": has " + std::to_string(s.bands) +
                     " bands; tiles need one band (rendered through a colour ramp) or an RGB/RGBA Byte image. "
                     "Extract one band first (e.g. gdal_translate -b 1).");
  }
  double gt[6];
  if (ds->GetGeoTransform(gt) != CE_None || ds->GetSpatialRef() == nullptr)
    throw InputError(path + ": has no georeferencing (geotransform and CRS); tiles need both");
  return s;
}

Footprint footprint_in(const TileSource& src, const TileMatrixSet& tms) {
  DatasetPtr ds = open_raster(src.path);
  Footprint fp;
  std::tie(fp.bounds, fp.pixel_size) = suggested(ds.get(), tms.crs_wkt(), src.path);
  std::tie(fp.lonlat, std::ignore) = suggested(ds.get(), lonlat_wkt(), src.path);
  // Clip to the matrix (Web Mercator stops at about 85.05 degrees).
  const double right = tms.origin_x + tms.matrix_width(tms.min_level) * tms.tile_size * tms.resolution(tms.min_level);
  const double bottom = tms.origin_y - tms.matrix_height(tms.min_level) * tms.tile_size * tms.resolution(tms.min_level);
  fp.bounds.xmin = std::max(fp.bounds.xmin, tms.origin_x);
  fp.bounds.xmax = std::min(fp.bounds.xmax, right);
  fp.bounds.ymax = std::min(fp.bounds.ymax, tms.origin_y);
  fp.bounds.ymin = std::max(fp.bounds.ymin, bottom);
  fp.lonlat.ymin = std::max(fp.lonlat.ymin, -85.0511287798066);
  fp.lonlat.ymax = std::min(fp.lonlat.ymax, 85.0511287798066);
  if (!(fp.bounds.xmax > fp.bounds.xmin && fp.bounds.ymax > fp.bounds.ymin))
    throw InputError(src.path + ": lies outside the " + tms.id + " tile matrix set");
  return fp;
}

ZoomRange auto_zoom_range(const Footprint& fp, const TileMatrixSet& tms) {
  ZoomRange z;
  z.max = max_zoom_for(tms, fp.pixel_size);
  const double extent = std::max(fp.bounds.xmax - fp.bounds.xmin, fp.bounds.ymax - fp.bounds.ymin);
  z.min = std::min(z.max, min_zoom_for(tms, extent));
  return z;
}

std::pair<double, double> value_min_max(const std::string& path) {
  DatasetPtr ds = open_raster(path);
  ErrorTrap trap;
  double mm[2] = {0, 0};
  if (GDALComputeRasterMinMax(GDALRasterBand::ToHandle(ds->GetRasterBand(1)), TRUE, mm) != CE_None || trap.failed())
    throw InputError(path + ": cannot compute its value range (" + trap.message() +
                     "); give one with --range MIN,MAX or `range:`");
  return {mm[0], mm[1]};
}

TileWarper::TileWarper(const TileSource& source, const TileMatrixSet& tms, GDALResampleAlg alg)
    : source_(source), tms_(tms), alg_(alg), src_(open_raster(source.path)) {
  ErrorTrap trap;
  const std::string wkt = tms.crs_wkt();
  char** opts = CSLSetNameValue(nullptr, "DST_SRS", wkt.c_str());
  transformer_ = GDALCreateGenImgProjTransformer2(src_.get(), nullptr, opts);
  CSLDestroy(opts);
  if (!transformer_)
    throw ProcessingError(source.path + ": cannot set up the warp to " + tms.id + " (" + trap.message() + ")");
  nodata_ = src_->GetRasterBand(1)->GetNoDataValue(&has_nodata_);
}

TileWarper::~TileWarper() {
  if (transformer_) GDALDestroyTransformer(transformer_);
}

void TileWarper::warp(int z, int px0, int py0, int w, int h, float* out, std::size_t out_line_floats) {
  const bool value = source_.kind == LayerKind::value;
  const int bands = value ? 1 : 4;
  const double res = tms_.resolution(z);
  ErrorTrap trap;
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  DatasetPtr dst(mem->Create("", w, h, bands, value ? GDT_Float32 : GDT_Byte, nullptr));
  double gt[6] = {tms_.origin_x + px0 * res, res, 0, tms_.origin_y - py0 * res, 0, -res};
  GDALSetGenImgProjTransformerDstGeoTransform(transformer_, gt);
  if (value && alg_ == GRA_Bilinear) return bilinear(w, h, out, out_line_floats);
  dst->SetGeoTransform(gt);

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
    double px = i + 0.5, py = r + 0.5, pz = 0;
    int ok = 0;
    GDALGenImgProjTransform(transformer_, TRUE, 1, &px, &py, &pz, &ok);
    x = ok ? px : -1e30;
    y = ok ? py : -1e30;
    return ok != 0;
  };
  const bool ok0 = exact(0, rx[0], ry[0]);
  const bool ok1 = w == 1 || exact(w - 1, rx[w - 1], ry[w - 1]);
  struct Span {
    int a, b;
    bool ok;
  };
  std::vector<Span> todo{{0, w - 1, ok0 && ok1}};
  while (!todo.empty()) {
    const Span s = todo.back();
    todo.pop_back();
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
    todo.push_back({s.a, m, okm && rx[s.a] > -1e29});
    todo.push_back({m, s.b, okm && rx[s.b] > -1e29});
  }
}

void TileWarper::bilinear(int w, int h, float* out, std::size_t out_line_floats) {
  const int W = src_->GetRasterXSize(), H = src_->GetRasterYSize();
  sx_.resize(std::size_t(w) * h);
  sy_.resize(std::size_t(w) * h);
  double xmin = 1e300, xmax = -1e300, ymin = 1e300, ymax = -1e300;
  for (int r = 0; r < h; ++r) {
    double* rx = sx_.data() + std::size_t(r) * w;
    double* ry = sy_.data() + std::size_t(r) * w;
    approx_row(r, w, rx, ry);
    for (int i = 0; i < w; ++i) {
      if (rx[i] < 0 || ry[i] < 0 || rx[i] >= W || ry[i] >= H) continue;
      xmin = std::min(xmin, rx[i]), xmax = std::max(xmax, rx[i]);
      ymin = std::min(ymin, ry[i]), ymax = std::max(ymax, ry[i]);
    }
  }
  for (int r = 0; r < h; ++r) std::fill_n(out + std::size_t(r) * out_line_floats, w, NAN);
  if (xmin > xmax) return;  // the block lies outside the layer
  const int x0 = std::max(0, int(std::floor(xmin - 0.5))), y0 = std::max(0, int(std::floor(ymin - 0.5)));
  const int x1 = std::min(W, int(std::floor(xmax + 0.5)) + 1), y1 = std::min(H, int(std::floor(ymax + 0.5)) + 1);
  const int ww = x1 - x0, wh = y1 - y0;
  window_.resize(std::size_t(ww) * wh);
  ErrorTrap trap;
  const CPLErr err = src_->GetRasterBand(1)->RasterIO(GF_Read, x0, y0, ww, wh, window_.data(), ww, wh, GDT_Float32, 0, 0,
                                                      nullptr);
  check_cpl(err, trap, source_.path, "reading for " + tms_.id + " tiles", true);
  if (has_nodata_ && !std::isnan(nodata_))
    for (float& v : window_)
      if (v == float(nodata_)) v = NAN;
  for (int r = 0; r < h; ++r) {
    const double* rx = sx_.data() + std::size_t(r) * w;
    const double* ry = sy_.data() + std::size_t(r) * w;
    float* o = out + std::size_t(r) * out_line_floats;
    for (int i = 0; i < w; ++i) {
      if (rx[i] < 0 || ry[i] < 0 || rx[i] >= W || ry[i] >= H) continue;
      const double u = rx[i] - 0.5 - x0, v = ry[i] - 0.5 - y0;
      const int ix = int(std::floor(u)), iy = int(std::floor(v));
      const double fx = u - ix, fy = v - iy;
      double sum = 0, wsum = 0;
      for (int j = 0; j < 2; ++j) {
        const int yy = iy + j;
        if (yy < 0 || yy >= wh) continue;
        const double wy = j ? fy : 1 - fy;
        for (int k = 0; k < 2; ++k) {
          const int xx = ix + k;
          if (xx < 0 || xx >= ww) continue;
          const float s = window_[std::size_t(yy) * ww + xx];
          if (std::isnan(s)) continue;
          const double wgt = wy * (k ? fx : 1 - fx);
          sum += wgt * s;
          wsum += wgt;
        }
      }
      if (wsum > 1e-5) o[i] = float(sum / wsum);
    }
  }
}

DatasetPtr open_native_warped(GDALDataset* src, const TileMatrixSet& tms) {
  ErrorTrap trap;
  DatasetPtr vrt(GDALDataset::FromHandle(
      GDALAutoCreateWarpedVRT(src, nullptr, tms.crs_wkt().c_str(), GRA_NearestNeighbour, 0.125, nullptr)));
  if (!vrt) throw InputError(std::string(src->GetDescription()) + ": cannot warp to " + tms.id + " (" + trap.message() + ")");
  return vrt;
}

void read_tile_like_gdal2tiles(GDALDataset* ds, const TileMatrixSet& tms, int z, int x, int y, float* out,
                               std::size_t out_line_floats) {
  constexpr int query = 1024;  // 4x the tile size
  const int tile = tms.tile_size, W = ds->GetRasterXSize(), H = ds->GetRasterYSize();
  double gt[6];
  ds->GetGeoTransform(gt);
  const BBox b = tms.tile_bounds(z, x, y);
  // Window arithmetic as gdal2tiles' geo_query (truncation toward zero included).
  int rx = int((b.xmin - gt[0]) / gt[1] + 0.001), ry = int((b.ymax - gt[3]) / gt[5] + 0.001);
  int rxsize = std::max(1, int((b.xmax - b.xmin) / gt[1] + 0.5)), rysize = std::max(1, int((b.ymin - b.ymax) / gt[5] + 0.5));
  int wx = 0, wy = 0, wxsize = query, wysize = query;
  auto clip = [](int& r, int& rsize, int& w, int& wsize, int limit) {
    if (r < 0) {
      const int shift = -r;
      w = int(wsize * (double(shift) / rsize));
      wsize -= w;
      rsize -= int(rsize * (double(shift) / rsize));
      r = 0;
    }
    if (r + rsize > limit) {
      wsize = int(wsize * (double(limit - r) / rsize));
      rsize = limit - r;
    }
  };
  clip(rx, rxsize, wx, wxsize, W);
  clip(ry, rysize, wy, wysize, H);
  for (int row = 0; row < tile; ++row) std::fill(out + row * out_line_floats, out + row * out_line_floats + 4 * tile, 0.f);
  if (rxsize <= 0 || rysize <= 0 || wxsize <= 0 || wysize <= 0) return;

  std::vector<std::uint8_t> q(std::size_t(query) * query * 4, 0), win(std::size_t(wxsize) * wysize * 4);
  ErrorTrap trap;
  int bands[3] = {1, 2, 3};
  CPLErr err = ds->RasterIO(GF_Read, rx, ry, rxsize, rysize, win.data(), wxsize, wysize, GDT_Byte, 3, bands, 4,
                            std::int64_t(wxsize) * 4, 1, nullptr);
  if (err == CE_None)
    err = ds->GetRasterBand(1)->GetMaskBand()->RasterIO(GF_Read, rx, ry, rxsize, rysize, win.data() + 3, wxsize, wysize,
                                                        GDT_Byte, 4, std::int64_t(wxsize) * 4, nullptr);
  check_cpl(err, trap, ds->GetDescription(), "reading a tile window", true);
  for (int row = 0; row < wysize; ++row)
    std::copy_n(win.data() + std::size_t(row) * wxsize * 4, std::size_t(wxsize) * 4,
                q.data() + (std::size_t(wy + row) * query + wx) * 4);
  // 4x4 box average of every band, alpha included, rounded to the nearest integer.
  for (int ty = 0; ty < tile; ++ty)
    for (int tx = 0; tx < tile; ++tx)
      for (int k = 0; k < 4; ++k) {
        int sum = 0;
        for (int j = 0; j < 4; ++j)
          for (int i = 0; i < 4; ++i) sum += q[(std::size_t(4 * ty + j) * query + 4 * tx + i) * 4 + k];
        out[ty * out_line_floats + tx * 4 + k] = float((sum + 8) / 16);
      }
}

}  // namespace qinling::raster
