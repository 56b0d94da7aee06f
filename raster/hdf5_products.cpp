#include "raster/hdf5_products.hpp"

#include <gdal_utils.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <regex>
#include <vector>

#include "models/errors.hpp"
#include "raster/gdal_io.hpp"

namespace qinling::raster {
namespace {

constexpr double kDeg = 3.14159265358979323846 / 180.0;

bool meta_number(GDALMajorObject* o, const char* key, double& v) {
  const char* s = o->GetMetadataItem(key);
  if (s == nullptr) return false;
  char* end = nullptr;
  v = std::strtod(s, &end);
  return end != s && std::isfinite(v);
}

std::string next_name(const char* ext) {
  static std::atomic<int> counter{0};
  return "/vsimem/qinling_hdf5/" + std::to_string(counter++) + ext;
}

// "HDF5:"/path/f.h5"://Grid/precipitation" → the file and "/Grid/precipitation".
bool split_hdf5_name(const std::string& path, std::string& file, std::string& var) {
  if (path.rfind("HDF5:\"", 0) != 0) return false;
  const auto close = path.find("\":", 6);
  if (close == std::string::npos) return false;
  file = path.substr(6, close - 6);
  var = path.substr(close + 2);
  while (var.rfind("//", 0) == 0) var.erase(0, 1);
  return true;
}

std::vector<double> read_1d(GDALGroup& root, const std::string& name, const std::string& file) {
  auto arr = root.OpenMDArrayFromFullname(name);
  if (!arr || arr->GetDimensionCount() != 1) throw InputError(file + ": has no 1-D coordinate array " + name);
  std::vector<double> v(std::size_t(arr->GetDimensions()[0]->GetSize()));
  const GUInt64 start = 0;
  const std::size_t count = v.size();
  if (!arr->Read(&start, &count, nullptr, nullptr, GDALExtendedDataType::Create(GDT_Float64), v.data()))
    throw InputError(file + ": cannot read " + name);
  return v;
}

// Regular spacing of coordinate centres; throws when they are not evenly spaced.
double spacing(const std::vector<double>& c, const std::string& file, const std::string& what) {
  if (c.size() < 2) throw InputError(file + ": " + what + " has fewer than two values");
  const double d = (c.back() - c.front()) / double(c.size() - 1);
  for (std::size_t k = 0; k < c.size(); ++k)
    if (std::fabs(c[k] - c.front() - double(k) * d) > 1e-3 * std::fabs(d))
      throw InputError(file + ": " + what + " is not evenly spaced; cannot georeference the grid");
  return d;
}

// IMERG: the band's rows are longitudes and its columns latitudes (south first).
std::optional<std::string> georeference_lon_lat(const std::string& path, int band_no) {
  std::string file, var;
  if (!split_hdf5_name(path, file, var)) return std::nullopt;
  DatasetPtr ds = open_raster(path);
  GDALRasterBand* band = ds->GetRasterBand(band_no);
  std::string dims;
  for (char** md = band->GetMetadata(); md && *md; ++md) {
    const std::string kv = *md;
    const auto eq = kv.find('=');
    if (eq != std::string::npos && kv.substr(0, eq).size() >= 14 &&
        kv.compare(eq - 14, 14, "DimensionNames") == 0)
      dims = kv.substr(eq + 1);
  }
  std::vector<std::string> names;
  for (std::size_t p = 0; p <= dims.size();) {
    const auto q = std::min(dims.find(',', p), dims.size());
    names.push_back(dims.substr(p, q - p));
    p = q + 1;
  }
  if (names.size() < 2) return std::nullopt;
  const std::string dx = names[names.size() - 2], dy = names.back();
  if (!((dx == "lon" || dx == "longitude") && (dy == "lat" || dy == "latitude"))) return std::nullopt;

  DatasetPtr md(GDALDataset::Open(file.c_str(), GDAL_OF_MULTIDIM_RASTER | GDAL_OF_VERBOSE_ERROR));
  if (!md) throw InputError(file + ": cannot open as a multidimensional HDF5 file");
  auto root = md->GetRootGroup();
  const std::string group = var.substr(0, var.find_last_of('/'));
  const std::vector<double> lon = read_1d(*root, group + "/" + dx, file),
                            lat = read_1d(*root, group + "/" + dy, file);
  const int nlon = ds->GetRasterYSize(), nlat = ds->GetRasterXSize();
  if (std::size_t(nlon) != lon.size() || std::size_t(nlat) != lat.size())
    throw InputError(file + ": " + var + " is " + std::to_string(nlon) + " × " + std::to_string(nlat) +
                     " but its coordinates have " + std::to_string(lon.size()) + " and " +
                     std::to_string(lat.size()) + " values");
  const double dlon = spacing(lon, file, dx), dlat = spacing(lat, file, dy);
  std::vector<float> in(std::size_t(nlon) * std::size_t(nlat)), out(in.size());
  ErrorTrap trap;
  check_cpl(band->RasterIO(GF_Read, 0, 0, nlat, nlon, in.data(), nlat, nlon, GDT_Float32, 0, 0, nullptr),
            trap, path, "reading", true);
  // Rows of latitude, north first if the file stores south first.
  const bool flip = dlat > 0;
  for (int i = 0; i < nlon; ++i)
    for (int j = 0; j < nlat; ++j) {
      const int r = flip ? nlat - 1 - j : j;
      out[std::size_t(r) * std::size_t(nlon) + std::size_t(i)] =
          in[std::size_t(i) * std::size_t(nlat) + std::size_t(j)];
    }
  const std::string name = next_name(".tif");
  DatasetPtr dst(GetGDALDriverManager()->GetDriverByName("GTiff")->Create(name.c_str(), nlon, nlat, 1,
                                                                          GDT_Float32, nullptr));
  if (!dst) throw ProcessingError(file + ": cannot build the transposed grid: " + trap.message());
  const double north = flip ? lat.back() : lat.front();
  double gt[6] = {lon.front() - dlon / 2, dlon, 0, north + std::fabs(dlat) / 2, 0, -std::fabs(dlat)};
  dst->SetGeoTransform(gt);
  dst->SetProjection(
      "GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,298.257223563]],"
      "PRIMEM[\"Greenwich\",0],UNIT[\"degree\",0.0174532925199433],AUTHORITY[\"EPSG\",\"4326\"]]");
  GDALRasterBand* ob = dst->GetRasterBand(1);
  int has = 0;
  const double nd = band->GetNoDataValue(&has);
  if (has) ob->SetNoDataValue(nd);
  check_cpl(ob->RasterIO(GF_Write, 0, 0, nlon, nlat, out.data(), nlon, nlat, GDT_Float32, 0, 0, nullptr),
            trap, name, "writing", false);
  // Keep the band's metadata (units, DimensionNames) for listing and unit conversion.
  ob->SetMetadata(band->GetMetadata());
  return name;
}

}  // namespace

std::string AgriGeometry::proj4() const {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "+proj=geos +lon_0=%.10g +h=%.10g +a=%.10g +b=%.10g +sweep=y +units=m +no_defs", sub_lon,
                height, a, b);
  return buf;
}

std::array<double, 6> AgriGeometry::geotransform() const {
  const double sx = 65536.0 / cfac * kDeg * height, sy = 65536.0 / lfac * kDeg * height;
  return {(first_column - 0.5 - coff) * sx, sx, 0, -(first_line - 0.5 - loff) * sy, 0, -sy};
}

AgriGeometry agri_geometry(const std::string& path, int width, int height) {
  init_gdal();
  DatasetPtr ds(GDALDataset::FromHandle(GDALOpenEx(path.c_str(), GDAL_OF_RASTER, nullptr, nullptr, nullptr)));
  if (!ds) ds = open_raster(path);  // throws with GDAL's reason
  AgriGeometry g;
  GDALDataset* d = ds.get();
  if (!meta_number(d, "NOMCenterLon", g.sub_lon))
    throw InputError(path + ": no NOMCenterLon attribute (not AGRI L1)");
  double v = 0;
  if (meta_number(d, "dEA", v)) g.a = v < 1e5 ? v * 1000 : v;
  double inv_f = 298.257223563;
  if (meta_number(d, "dObRecFlat", v) && v > 1) inv_f = v;
  g.b = g.a * (1 - 1 / inv_f);
  if (meta_number(d, "NOMSatHeight", v)) {
    if (v < 1e5) v *= 1000;  // km
    if (v > 4e7) v -= g.a;   // from the Earth's centre
    g.height = v;
  }
  meta_number(d, "Begin_Line_Number", g.first_line);
  meta_number(d, "Begin_Pixel_Number", g.first_column);
  const bool explicit_offsets = meta_number(d, "COFF", g.coff) && meta_number(d, "LOFF", g.loff) &&
                                meta_number(d, "CFAC", g.cfac) && meta_number(d, "LFAC", g.lfac);
  if (!explicit_offsets) {
    // The published table of AGRI's nominal grids (m resolution → COFF = LOFF, CFAC = LFAC).
    struct Row {
      int metres;
      double off, fac;
      int disk;
    };
    static const Row table[] = {{4000, 1373.5, 10233137, 2748},
                                {2000, 2747.5, 20466274, 5496},
                                {1000, 5495.5, 40932549, 10992},
                                {500, 10991.5, 81865099, 21984}};
    int metres = 0;
    std::smatch m;
    const std::string base = path.substr(path.find_last_of('/') + 1);
    if (std::regex_search(base, m, std::regex("_(\\d+)M_"))) metres = std::stoi(m[1]);
    const Row* row = nullptr;
    for (const auto& r : table)
      if (r.metres == metres || (metres == 0 && width == r.disk && height == r.disk)) row = &r;
    if (row == nullptr)
      throw InputError(path +
                       ": cannot tell the AGRI resolution (keep the original file name with its _4000M_ "
                       "token, or add COFF/LOFF/CFAC/LFAC attributes)");
    g.coff = g.loff = row->off;
    g.cfac = g.lfac = row->fac;
  }
  return g;
}

std::string agri_calibrated_units(const std::string& path) {
  std::smatch m;
  if (!std::regex_search(path, m, std::regex("NOMChannel(\\d+)$")))
    throw InputError(path + ": `calibrate: true` needs an AGRI channel (select: {variable: NOMChannelNN})");
  return std::stoi(m[1]) <= 6 ? "1" : "K";
}

namespace {

// A float VRT over band 1 of `counts` (georeferenced, nodata `fill` when given) whose values are
// table[count] (GDAL's LUT: exact at whole counts), NaN for fill and counts past the table.
std::string calibrated_vrt(const std::string& counts, const std::string& fill, const std::vector<double>& table) {
  DatasetPtr src = open_raster(counts);
  double gt[6];
  src->GetGeoTransform(gt);
  std::string xml = "<VRTDataset rasterXSize=\"" + std::to_string(src->GetRasterXSize()) + "\" rasterYSize=\"" +
                    std::to_string(src->GetRasterYSize()) + "\">\n<SRS>";
  char* escaped = CPLEscapeString(src->GetProjectionRef(), -1, CPLES_XML);
  xml += escaped;
  CPLFree(escaped);
  char buf[64];
  xml += "</SRS>\n<GeoTransform>";
  for (int i = 0; i < 6; ++i) {
    std::snprintf(buf, sizeof buf, "%s%.17g", i ? ", " : "", gt[i]);
    xml += buf;
  }
  xml += "</GeoTransform>\n<VRTRasterBand dataType=\"Float32\" band=\"1\">\n<NoDataValue>nan</NoDataValue>\n"
         "<ComplexSource>\n<SourceFilename relativeToVRT=\"0\">" + counts + "</SourceFilename>\n<SourceBand>1</SourceBand>\n";
  if (!fill.empty()) xml += "<NODATA>" + fill + "</NODATA>\n";
  xml += "<LUT>";
  for (std::size_t i = 0; i < table.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%zu:%.9g,", i, std::isfinite(table[i]) ? table[i] : NAN);
    xml += buf;
  }
  xml += std::to_string(table.size()) + ":nan</LUT>\n</ComplexSource>\n</VRTRasterBand>\n</VRTDataset>\n";
  const std::string name = next_name(".vrt");
  VSILFILE* f = VSIFOpenL(name.c_str(), "wb");
  if (f == nullptr || VSIFWriteL(xml.data(), 1, xml.size(), f) != xml.size()) {
    if (f != nullptr) VSIFCloseL(f);
    throw ProcessingError("cannot write the calibration VRT " + name);
  }
  VSIFCloseL(f);
  return name;
}

}  // namespace

std::optional<std::string> georeference_hdf5_band(const std::string& path, int band, bool calibrate) {
  DatasetPtr ds = open_raster(path);
  double gt[6];
  if (ds->GetSpatialRef() != nullptr || ds->GetGeoTransform(gt) == CE_None) return std::nullopt;
  if (const char* drv = ds->GetDriver()->GetDescription(); std::string(drv).rfind("HDF5", 0) != 0)
    return std::nullopt;
  if (ds->GetMetadataItem("NOMCenterLon") == nullptr) return georeference_lon_lat(path, band);

  std::string file, var;
  split_hdf5_name(path, file, var);
  const AgriGeometry g =
      agri_geometry(file.empty() ? path : file, ds->GetRasterXSize(), ds->GetRasterYSize());
  const auto t = g.geotransform();
  char ullr[4][40];
  std::snprintf(ullr[0], 40, "%.17g", t[0]);
  std::snprintf(ullr[1], 40, "%.17g", t[3]);
  std::snprintf(ullr[2], 40, "%.17g", t[0] + t[1] * ds->GetRasterXSize());
  std::snprintf(ullr[3], 40, "%.17g", t[3] + t[5] * ds->GetRasterYSize());
  const std::string srs = g.proj4(), b = std::to_string(band);
  std::vector<const char*> args{"-of",     "VRT",   "-b",    b.c_str(), "-a_srs", srs.c_str(),
                                "-a_ullr", ullr[0], ullr[1], ullr[2],   ullr[3]};
  // AGRI marks missing counts with the dataset's FillValue attribute (65535), not a GDAL nodata.
  std::string fill;
  for (char** md = ds->GetRasterBand(band)->GetMetadata(); md && *md; ++md) {
    const std::string kv = *md;
    const auto eq = kv.find('=');
    if (eq != std::string::npos && kv.substr(0, eq).find("FillValue") != std::string::npos)
      fill = kv.substr(eq + 1);
  }
  while (!fill.empty() && fill.back() == ' ') fill.pop_back();
  if (!fill.empty()) args.insert(args.end(), {"-a_nodata", fill.c_str()});
  args.push_back(nullptr);
  const std::string name = next_name(".vrt");
  ErrorTrap trap;
  GDALTranslateOptions* opts = GDALTranslateOptionsNew(const_cast<char**>(args.data()), nullptr);
  GDALDatasetH out = GDALTranslate(name.c_str(), GDALDataset::ToHandle(ds.get()), opts, nullptr);
  GDALTranslateOptionsFree(opts);
  if (out == nullptr) throw InputError(path + ": cannot georeference the AGRI image: " + trap.message());
  GDALClose(out);
  if (!calibrate) return name;
  // The channel's table: CALChannelNN beside NOMChannelNN (FY-4 AGRI L1 user guide).
  std::smatch m;
  if (!std::regex_search(var, m, std::regex("NOMChannel(\\d+)$")))
    throw InputError(path + ": `calibrate: true` needs an AGRI channel (select: {variable: NOMChannelNN})");
  const std::string cal = "/CALChannel" + m[1].str();
  DatasetPtr mdim(GDALDataset::FromHandle(
      GDALOpenEx(file.c_str(), GDAL_OF_MULTIDIM_RASTER, nullptr, nullptr, nullptr)));
  auto root = mdim ? mdim->GetRootGroup() : nullptr;
  if (!root) throw InputError(file + ": cannot open as HDF5 to read the calibration table " + cal);
  std::vector<double> table;
  try {
    table = read_1d(*root, cal, file);
  } catch (const InputError&) {
    throw InputError(file + ": no calibration table " + cal + " for " + var +
                     " (an AGRI L1 file has CALChannelNN beside NOMChannelNN); remove `calibrate` to read counts");
  }
  if (table.empty()) throw InputError(file + ": the calibration table " + cal + " is empty");
  return calibrated_vrt(name, fill, table);
}

}  // namespace qinling::raster
