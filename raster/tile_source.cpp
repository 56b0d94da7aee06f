#include "raster/tile_source.hpp"

#include <gdal_alg.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <cmath>
#include <future>
#include <memory>
#include <vector>

namespace qinling::raster {
namespace {

using Transformer = TransformerPtr;  // raster/gdal_io.hpp


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
  Footprint fp;
  // Each search of PROJ's database for the operation takes ~0.1 s: both at once, each thread with
  // its own handle (the tile CRS one stays in GDAL's cache for the warpers' SourceTransform).
  auto lonlat = std::async(std::launch::async, [&] {
    DatasetPtr ds = open_raster(src.path);
    return suggested(ds.get(), lonlat_wkt(), src.path);
  });
  {
    DatasetPtr ds = open_raster(src.path);
    std::tie(fp.bounds, fp.pixel_size) = suggested(ds.get(), tms.crs_wkt(), src.path);
  }
  std::tie(fp.lonlat, std::ignore) = lonlat.get();
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
