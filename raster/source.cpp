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

GridReader::Handles::~Handles() {
  // Warped VRTs hold their sources: close in reverse order of opening.
  while (!owned.empty()) owned.pop_back();
}

GDALRasterBand* GridReader::band_handle(const BandSource& src) {
  Handles& mine = handles_.local();
  const FileState& state = files_.at(src.path);
  const std::string key = src.path + "#" + std::to_string(src.band);
  if (auto it = mine.bands.find(key); it != mine.bands.end()) return it->second;

  GDALDataset* file = nullptr;
  if (auto it = mine.files.find(src.path); it != mine.files.end()) {
    file = it->second;
  } else {
    mine.owned.push_back(open_raster(src.path));
    file = mine.files[src.path] = mine.owned.back().get();
  }
  if (src.band < 1 || src.band > file->GetRasterCount())
    throw InputError(src.path + ": has no band " + std::to_string(src.band));
  GDALRasterBand* band = file->GetRasterBand(src.band);
  if (state.warp) {
    // The band alone (a VRT), so the warper works on this band only and its nodata, then a warped
    // VRT on exactly the analysis grid; GDAL warps lazily, block by block, as windows are read.
    ErrorTrap trap;
    const std::string& resampling = src.resampling.empty() ? state.resampling : src.resampling;
    const std::string b = std::to_string(src.band);
    std::vector<const char*> targs{"-of", "VRT", "-b", b.c_str(), nullptr};
    GDALTranslateOptions* topts = GDALTranslateOptionsNew(const_cast<char**>(targs.data()), nullptr);
    GDALDatasetH one = GDALTranslate("", GDALDataset::ToHandle(file), topts, nullptr);
    GDALTranslateOptionsFree(topts);
    if (one == nullptr) throw InputError(src.path + ": cannot select band " + b + ": " + trap.message());
    mine.owned.emplace_back(GDALDataset::FromHandle(one));

    char te[4][32];
    const BBox bb = grid_.bounds();
    std::snprintf(te[0], 32, "%.17g", bb.xmin);
    std::snprintf(te[1], 32, "%.17g", bb.ymin);
    std::snprintf(te[2], 32, "%.17g", bb.xmax);
    std::snprintf(te[3], 32, "%.17g", bb.ymax);
    const std::string w = std::to_string(grid_.width), h = std::to_string(grid_.height);
    std::vector<const char*> args{"-of", "VRT", "-te", te[0], te[1], te[2], te[3], "-ts", w.c_str(), h.c_str(),
                                  "-r", resampling.c_str(), "-ot", "Float32", "-dstnodata", "nan",
                                  // Exact transformation: the approximate one interpolates over each
                                  // chunk, which would make values depend on how reads are split.
                                  "-et", "0"};
    if (!grid_.crs_wkt.empty()) {
      args.push_back("-t_srs");
      args.push_back(grid_.crs_wkt.c_str());
    }
    args.push_back(nullptr);
    GDALWarpAppOptions* opts = GDALWarpAppOptionsNew(const_cast<char**>(args.data()), nullptr);
    int usage_error = 0;
    GDALDatasetH warped = GDALWarp("", nullptr, 1, &one, opts, &usage_error);
    GDALWarpAppOptionsFree(opts);
    if (warped == nullptr) throw InputError(src.path + ": cannot warp onto the analysis grid: " + trap.message());
    mine.owned.emplace_back(GDALDataset::FromHandle(warped));
    band = mine.owned.back()->GetRasterBand(1);
  }
  return mine.bands[key] = band;
}

void GridReader::read(const BandSource& src, const Window& w, float* out) {
  GDALRasterBand* band = band_handle(src);
  ErrorTrap trap;
  const CPLErr err =
      band->RasterIO(GF_Read, w.x, w.y, w.width, w.height, out, w.width, w.height, GDT_Float32, 0, 0, nullptr);
  if (err != CE_None || trap.failed())
    throw InputError(src.path + ": reading band " + std::to_string(src.band) + " failed (" +
                     (trap.failed() ? trap.message() : std::string(CPLGetLastErrorMsg())) +
                     "); the file looks truncated or corrupt: download or regenerate it");
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
  if (src.scale != 1.0 || src.offset != 0.0) {
    const double sc = src.scale, of = src.offset;
    for (std::int64_t i = 0; i < n; ++i) out[i] = float(double(out[i]) * sc + of);  // NaN stays NaN
  }
}

}  // namespace qinling::raster
