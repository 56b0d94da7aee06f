#include "raster/source.hpp"

#include <gdal_alg.h>
#include <gdal_utils.h>
#include <ogr_spatialref.h>

#include <cmath>
#include <cstdio>

namespace qinling::raster {

RasterInfo describe_raster(const std::string& path) {
  DatasetPtr ds = open_raster(path);
  RasterInfo info;
  info.grid.width = ds->GetRasterXSize();
  info.grid.height = ds->GetRasterYSize();
  if (ds->GetGeoTransform(info.grid.geotransform.data()) != CE_None)
    info.grid.geotransform = {0, 1, 0, 0, 0, 1};  // GDAL's default for ungeoreferenced files
  if (const OGRSpatialReference* srs = ds->GetSpatialRef()) {
    char* wkt = nullptr;
    srs->exportToWkt(&wkt);
    info.grid.crs_wkt = wkt ? wkt : "";
    CPLFree(wkt);
  }
  info.bands = ds->GetRasterCount();
  ds->GetRasterBand(1)->GetBlockSize(&info.block_width, &info.block_height);
  info.type = ds->GetRasterBand(1)->GetRasterDataType();
  return info;
}

std::string crs_to_wkt(const std::string& user_crs) {
  init_gdal();
  OGRSpatialReference srs;
  ErrorTrap trap;
  if (srs.SetFromUserInput(user_crs.c_str()) != OGRERR_NONE)
    throw ConfigError("unknown CRS '" + user_crs + "' (use e.g. EPSG:4547, EPSG:32649 or a WKT string)");
  char* wkt = nullptr;
  srs.exportToWkt(&wkt);
  std::string out = wkt ? wkt : "";
  CPLFree(wkt);
  return out;
}

Grid reproject_grid(const Grid& src, const std::string& dst_wkt) {
  init_gdal();
  DatasetPtr mem(GetGDALDriverManager()->GetDriverByName("MEM")->Create("", src.width, src.height, 0, GDT_Byte,
                                                                       nullptr));
  auto gt = src.geotransform;
  mem->SetGeoTransform(gt.data());
  mem->SetProjection(src.crs_wkt.c_str());
  ErrorTrap trap;
  void* transformer = GDALCreateGenImgProjTransformer(GDALDataset::ToHandle(mem.get()), src.crs_wkt.c_str(),
                                                      nullptr, dst_wkt.c_str(), FALSE, 0, 1);
  if (transformer == nullptr) throw ConfigError("cannot transform the input grid to the job's CRS: " + trap.message());
  Grid out;
  double ext[4];
  const CPLErr err = GDALSuggestedWarpOutput2(GDALDataset::ToHandle(mem.get()), GDALGenImgProjTransform, transformer,
                                              out.geotransform.data(), &out.width, &out.height, ext, 0);
  GDALDestroyGenImgProjTransformer(transformer);
  if (err != CE_None) throw ConfigError("cannot transform the input grid to the job's CRS: " + trap.message());
  out.crs_wkt = dst_wkt;
  return out;
}

const std::vector<std::string>& resampling_methods() {
  static const std::vector<std::string> methods{"nearest", "bilinear", "cubic", "cubicspline", "lanczos",
                                                "average", "mode",     "min",   "max",         "med"};
  return methods;
}

GridReader::GridReader(Grid grid) : grid_(std::move(grid)) {}

void GridReader::add_file(const std::string& path, const RasterInfo& info, const std::string& resampling) {
  files_[path] = {!info.grid.aligned_with(grid_), resampling};
}

GDALDataset* GridReader::handle(const std::string& path) {
  auto& mine = handles_.local().datasets;
  auto it = mine.find(path);
  if (it != mine.end()) return it->second.get();
  DatasetPtr ds = open_raster(path);
  const FileState& state = files_.at(path);
  if (state.warp) {
    // A warped VRT on exactly the analysis grid; GDAL warps lazily as windows are read.
    char te[4][32];
    const BBox b = grid_.bounds();
    std::snprintf(te[0], 32, "%.17g", b.xmin);
    std::snprintf(te[1], 32, "%.17g", b.ymin);
    std::snprintf(te[2], 32, "%.17g", b.xmax);
    std::snprintf(te[3], 32, "%.17g", b.ymax);
    const std::string w = std::to_string(grid_.width), h = std::to_string(grid_.height);
    std::vector<const char*> args{"-of", "VRT", "-te", te[0], te[1], te[2], te[3], "-ts", w.c_str(), h.c_str(),
                                  "-r", state.resampling.c_str(), "-ot", "Float32", "-dstnodata", "nan"};
    if (!grid_.crs_wkt.empty()) {
      args.push_back("-t_srs");
      args.push_back(grid_.crs_wkt.c_str());
    }
    args.push_back(nullptr);
    GDALWarpAppOptions* opts = GDALWarpAppOptionsNew(const_cast<char**>(args.data()), nullptr);
    GDALDatasetH src = GDALDataset::ToHandle(ds.get());
    ErrorTrap trap;
    int usage_error = 0;
    GDALDatasetH warped = GDALWarp("", nullptr, 1, &src, opts, &usage_error);
    GDALWarpAppOptionsFree(opts);
    if (warped == nullptr) throw InputError(path + ": cannot warp onto the analysis grid: " + trap.message());
    // The warped VRT holds its own reference to the source dataset.
    mine.emplace(path + "#src", std::move(ds));
    ds.reset(GDALDataset::FromHandle(warped));
  }
  return mine.emplace(path, std::move(ds)).first->second.get();
}

void GridReader::read(const BandSource& src, const Window& w, float* out) {
  GDALDataset* ds = handle(src.path);
  if (src.band < 1 || src.band > ds->GetRasterCount())
    throw InputError(src.path + ": has no band " + std::to_string(src.band));
  GDALRasterBand* band = ds->GetRasterBand(src.band);
  ErrorTrap trap;
  check_cpl(band->RasterIO(GF_Read, w.x, w.y, w.width, w.height, out, w.width, w.height, GDT_Float32, 0, 0, nullptr),
            trap, src.path, "reading band " + std::to_string(src.band), true);
  const std::int64_t n = w.pixels();
  const int flags = band->GetMaskFlags();
  if (flags & GMF_NODATA) {
    int has = 0;
    const double nd = band->GetNoDataValue(&has);
    if (has && !std::isnan(nd)) {
      const float ndf = float(nd);
      if (double(ndf) == nd)  // a nodata value a float cannot hold never matches a read value
        for (std::int64_t i = 0; i < n; ++i)
          if (out[i] == ndf) out[i] = std::nanf("");
    }
  } else if (!(flags & GMF_ALL_VALID)) {
    std::vector<unsigned char> mask(static_cast<size_t>(n));
    check_cpl(band->GetMaskBand()->RasterIO(GF_Read, w.x, w.y, w.width, w.height, mask.data(), w.width, w.height,
                                            GDT_Byte, 0, 0, nullptr),
              trap, src.path, "reading the mask of band " + std::to_string(src.band), true);
    for (std::int64_t i = 0; i < n; ++i)
      if (mask[i] == 0) out[i] = std::nanf("");
  }
}

}  // namespace qinling::raster
