#include "pipeline/weather_select.hpp"

#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal_utils.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "models/errors.hpp"
#include "models/meteo.hpp"
#include "raster/gdal_io.hpp"
#include "raster/hdf5_products.hpp"

namespace qinling::pipeline {
namespace {

std::string meta(GDALMajorObject* o, const char* key) {
  const char* v = o->GetMetadataItem(key);
  return v ? v : "";
}

bool parse_number(const std::string& s, double& v) {
  if (s.empty()) return false;
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return end != s.c_str() && *end == '\0';
}

// "hours since 1900-01-01 00:00:00.0" → seconds per unit and the epoch, in seconds since 1970.
bool parse_cf_time_units(const std::string& units, double& unit_seconds, long long& epoch) {
  const auto since = units.find(" since ");
  if (since == std::string::npos) return false;
  const std::string u = units.substr(0, since);
  if (u == "seconds" || u == "second" || u == "s") unit_seconds = 1;
  else if (u == "minutes" || u == "minute") unit_seconds = 60;
  else if (u == "hours" || u == "hour" || u == "h") unit_seconds = 3600;
  else if (u == "days" || u == "day" || u == "d") unit_seconds = 86400;
  else return false;
  std::string t = units.substr(since + 7);
  if (const auto dot = t.find('.'); dot != std::string::npos) t = t.substr(0, dot);  // fractional seconds
  return parse_iso_time(t, epoch);
}

// Lead times: a number of hours, or with a unit suffix s/m/h/d.
bool parse_lead(const std::string& text, long long& seconds) {
  if (text.empty()) return false;
  double mult = 3600;
  std::string n = text;
  switch (text.back()) {
    case 's': mult = 1; n.pop_back(); break;
    case 'm': mult = 60; n.pop_back(); break;
    case 'h': mult = 3600; n.pop_back(); break;
    case 'd': mult = 86400; n.pop_back(); break;
    default: break;
  }
  double v = 0;
  if (!parse_number(n, v)) return false;
  seconds = std::llround(v * mult);
  return true;
}

bool same_value(const std::string& have, const std::string& want) {
  double a = 0, b = 0;
  if (parse_number(have, a) && parse_number(want, b)) return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::fabs(b));
  return have == want;
}

// GDAL names accumulations by their hours (APCP06, APCP12): `element: APCP` matches them all.
bool same_element(const std::string& have, const std::string& want) {
  if (have == want) return true;
  if (want.empty() || have.size() <= want.size() || have.compare(0, want.size(), want) != 0) return false;
  return std::all_of(have.begin() + std::ptrdiff_t(want.size()), have.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A subdataset of `path` whose name ends with the variable (NETCDF:"f":var, HDF5:"f"://grp/var).
std::string find_subdataset(GDALDataset* ds, const std::string& var, std::vector<std::string>& names) {
  char** sub = ds->GetMetadata("SUBDATASETS");
  std::string found;
  for (int i = 0; sub && sub[i]; ++i) {
    std::string kv = sub[i];
    const auto eq = kv.find('=');
    if (eq == std::string::npos || kv.substr(0, eq).find("_NAME") == std::string::npos) continue;
    const std::string name = kv.substr(eq + 1);
    const auto cut = name.find_last_of(":/");
    const std::string leaf = cut == std::string::npos ? name : name.substr(cut + 1);
    names.push_back(leaf);
    if (leaf == var && found.empty()) found = name;
  }
  return found;
}

std::string fmt_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

// The selected band as one Float32 band in physical units, so that its path and band number alone
// read correctly everywhere (pixel steps through GridReader, product steps reading the file).
// An in-memory VRT applies the unit conversion and file packing (a linear ComplexSource: nodata
// stays nodata) and, because CF files often give lon/lat axes without a grid mapping (GDAL then
// reports no CRS and nothing could be warped), states WGS84 when the axes are plainly geographic.
// GDAL's GRIB and netCDF drivers already shift 0–360° global grids to −180–180°.
void expose_band(WeatherSelection& sel) {
  raster::DatasetPtr ds = raster::open_raster(sel.path);
  bool add_crs = false;
  double gt[6];
  if (ds->GetSpatialRef() == nullptr && ds->GetGeoTransform(gt) == CE_None) {
    const double x0 = gt[0], x1 = gt[0] + gt[1] * ds->GetRasterXSize();
    const double y0 = gt[3], y1 = gt[3] + gt[5] * ds->GetRasterYSize();
    const std::string xu = meta(ds.get(), "lon#units") + meta(ds.get(), "longitude#units");
    add_crs = xu.find("degree") != std::string::npos ||
              (std::min(x0, x1) >= -360.5 && std::max(x0, x1) <= 360.5 && std::min(y0, y1) >= -91 &&
               std::max(y0, y1) <= 91 && gt[2] == 0 && gt[4] == 0);
  }
  const bool rescale = sel.scale != 1.0 || sel.offset != 0.0;
  if (!add_crs && !rescale) return;
  static std::atomic<int> counter{0};
  const std::string vrt = "/vsimem/qinling_weather/" + std::to_string(counter++) + ".vrt";
  const std::string b = std::to_string(sel.band);
  char lo[32], hi[32];
  std::snprintf(lo, sizeof lo, "%.17g", sel.offset);
  std::snprintf(hi, sizeof hi, "%.17g", sel.offset + sel.scale);
  std::vector<const char*> args{"-of", "VRT", "-b", b.c_str(), "-ot", "Float32"};
  if (add_crs) args.insert(args.end(), {"-a_srs", "EPSG:4326"});
  if (rescale) args.insert(args.end(), {"-scale", "0", "1", lo, hi, "-a_scale", "1", "-a_offset", "0"});
  args.push_back(nullptr);
  raster::ErrorTrap trap;
  GDALTranslateOptions* opts = GDALTranslateOptionsNew(const_cast<char**>(args.data()), nullptr);
  GDALDatasetH out = GDALTranslate(vrt.c_str(), GDALDataset::ToHandle(ds.get()), opts, nullptr);
  GDALTranslateOptionsFree(opts);
  if (out == nullptr) throw InputError(sel.path + ": cannot expose band " + b + ": " + trap.message());
  GDALClose(out);
  sel.path = vrt;
  sel.band = 1;
  sel.scale = 1.0;
  sel.offset = 0.0;
}

// An accumulation over (from, to] as the difference of the totals at two lead times: an in-memory
// VRT whose band is `to − from` (GDAL's "diff" pixel function, NaN where either is nodata).
void difference_bands(WeatherSelection& to, const WeatherSelection& from, const std::string& path) {
  raster::DatasetPtr ds = raster::open_raster(to.path);
  double gt[6] = {0, 1, 0, 0, 0, 1};
  ds->GetGeoTransform(gt);
  std::string wkt;
  if (const OGRSpatialReference* srs = ds->GetSpatialRef()) {
    char* w = nullptr;
    srs->exportToWkt(&w);
    wkt = w ? w : "";
    CPLFree(w);
  }
  auto source = [](const WeatherSelection& s) {
    raster::DatasetPtr d = raster::open_raster(s.path);
    int has = 0;
    const double nd = d->GetRasterBand(s.band)->GetNoDataValue(&has);
    char* esc = CPLEscapeString(s.path.c_str(), -1, CPLES_XML);
    std::string x = "<ComplexSource><SourceFilename relativeToVRT=\"0\">" + std::string(esc) +
                    "</SourceFilename><SourceBand>" + std::to_string(s.band) + "</SourceBand>";
    CPLFree(esc);
    if (has && !std::isnan(nd)) x += "<NODATA>" + fmt_double(nd) + "</NODATA>";
    return x + "</ComplexSource>";
  };
  char* esc = CPLEscapeString(wkt.c_str(), -1, CPLES_XML);
  std::string xml = "<VRTDataset rasterXSize=\"" + std::to_string(ds->GetRasterXSize()) + "\" rasterYSize=\"" +
                    std::to_string(ds->GetRasterYSize()) + "\"><SRS>" + esc + "</SRS><GeoTransform>";
  CPLFree(esc);
  for (int i = 0; i < 6; ++i) xml += (i ? ", " : "") + fmt_double(gt[i]);
  xml += "</GeoTransform><VRTRasterBand dataType=\"Float32\" band=\"1\" subClass=\"VRTDerivedRasterBand\">"
         "<NoDataValue>nan</NoDataValue><PixelFunctionType>diff</PixelFunctionType>"
         "<SourceTransferType>Float64</SourceTransferType>" +
         source(to) + source(from) + "</VRTRasterBand></VRTDataset>";
  static std::atomic<int> counter{0};
  const std::string vrt = "/vsimem/qinling_weather/period" + std::to_string(counter++) + ".vrt";
  VSILFILE* f = VSIFOpenL(vrt.c_str(), "wb");
  if (f == nullptr || VSIFWriteL(xml.data(), 1, xml.size(), f) != xml.size())
    throw ProcessingError(path + ": cannot build the period difference");
  VSIFCloseL(f);
  to.path = vrt;
  to.band = 1;
}

}  // namespace

bool parse_iso_time(const std::string& text, long long& seconds) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char sep = 0;
  const int n = std::sscanf(text.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d", &y, &mo, &d, &sep, &h, &mi, &s);
  if (n < 3 || (n >= 4 && sep != 'T' && sep != ' ') || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
      s > 60)
    return false;
  if (n == 4) {  // "2026-07-01T12" or "2026-07-01T12Z"
    if (std::sscanf(text.c_str(), "%4d-%2d-%2d%c%2d", &y, &mo, &d, &sep, &h) != 5) return false;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  seconds = static_cast<long long>(timegm(&tm));
  return true;
}

std::string format_iso_time(long long seconds) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%MZ", &tm);
  return buf;
}

std::string WeatherBand::describe() const {
  std::string s = "band " + std::to_string(band) + ":";
  if (!element.empty()) s += " element=" + element;
  if (!level.empty()) s += " level=" + level;
  if (has_valid) s += " valid=" + format_iso_time(valid);
  if (has_ref) s += " ref=" + format_iso_time(ref);
  if (lead_seconds >= 0) s += " lead=" + std::to_string(lead_seconds / 3600) + "h";
  for (const auto& [k, v] : dims) s += " " + k + "=" + v;
  if (!units.empty()) s += " units=" + units;
  return s;
}

std::vector<WeatherBand> list_weather_bands(const std::string& path) {
  raster::DatasetPtr ds = raster::open_raster(path);
  std::vector<WeatherBand> out;
  for (int b = 1; b <= ds->GetRasterCount(); ++b) {
    GDALRasterBand* band = ds->GetRasterBand(b);
    WeatherBand w;
    w.band = b;
    w.element = meta(band, "GRIB_ELEMENT");
    if (w.element.empty()) w.element = meta(band, "NETCDF_VARNAME");
    w.level = meta(band, "GRIB_SHORT_NAME");
    w.units = meta(band, "GRIB_UNIT");
    if (w.units.empty()) w.units = meta(band, "units");
    for (char** md = band->GetMetadata(); w.units.empty() && md && *md; ++md) {  // HDF5: "<path>_units"
      const std::string kv = *md;
      const auto eq = kv.find('=');
      if (eq != std::string::npos && eq >= 6 && kv.compare(eq - 6, 6, "_units") == 0) w.units = kv.substr(eq + 1);
    }
    double v = 0;
    // GRIB times are "1508328000" (GDAL ≥ 3.?) or "1508328000 sec UTC": the leading number counts.
    if (const std::string t = meta(band, "GRIB_VALID_TIME"); !t.empty()) {
      w.valid = std::atoll(t.c_str());
      w.has_valid = true;
    }
    if (const std::string t = meta(band, "GRIB_REF_TIME"); !t.empty()) {
      w.ref = std::atoll(t.c_str());
      w.has_ref = true;
    }
    if (const std::string t = meta(band, "GRIB_FORECAST_SECONDS"); !t.empty()) w.lead_seconds = std::atoll(t.c_str());
    else if (w.has_valid && w.has_ref) w.lead_seconds = w.valid - w.ref;
    char** md = band->GetMetadata();
    for (int i = 0; md && md[i]; ++i) {
      const std::string kv = md[i];
      const auto eq = kv.find('=');
      if (kv.rfind("NETCDF_DIM_", 0) == 0 && eq != std::string::npos) w.dims[kv.substr(11, eq - 11)] = kv.substr(eq + 1);
    }
    // A CF time dimension gives the valid time.
    for (const std::string tdim : {"time", "valid_time", "t"}) {
      const auto it = w.dims.find(tdim);
      if (w.has_valid || it == w.dims.end()) continue;
      double unit_s = 0;
      long long epoch = 0;
      if (parse_cf_time_units(meta(ds.get(), (tdim + "#units").c_str()), unit_s, epoch) && parse_number(it->second, v)) {
        w.valid = epoch + std::llround(v * unit_s);
        w.has_valid = true;
      }
    }
    int has = 0;
    const double sc = band->GetScale(&has);
    if (has) w.pack_scale = sc;
    const double of = band->GetOffset(&has);
    if (has) w.pack_offset = of;
    out.push_back(std::move(w));
  }
  return out;
}

WeatherSelection select_weather_band(const std::string& path, const std::map<std::string, std::string>& criteria,
                                     const std::string& units, bool calibrate) {
  if (const auto period = criteria.find("period"); period != criteria.end()) {
    const auto comma = period->second.find(',');
    long long a = 0, b = 0;
    if (comma == std::string::npos || !parse_lead(period->second.substr(0, comma), a) ||
        !parse_lead(period->second.substr(comma + 1), b) || !(a < b) || a < 0 || criteria.count("lead"))
      throw InputError(path + ": select.period '" + period->second +
                       "' must be two lead times [from, to] with from < to, e.g. period: [6h, 12h] (and no `lead`)");
    std::map<std::string, std::string> one = criteria;
    one.erase("period");
    one["lead"] = std::to_string(b) + "s";
    WeatherSelection to = select_weather_band(path, one, units, calibrate);
    if (a > 0) {  // a total from lead 0 is the accumulated field itself
      one["lead"] = std::to_string(a) + "s";
      const WeatherSelection from = select_weather_band(path, one, units, calibrate);
      difference_bands(to, from, path);
    }
    return to;
  }
  WeatherSelection sel;
  sel.path = path;
  {
    // A file of several variables has no bands of its own, only subdatasets.
    raster::init_gdal();
    raster::DatasetPtr ds(GDALDataset::FromHandle(GDALOpenEx(path.c_str(), GDAL_OF_RASTER, nullptr, nullptr, nullptr)));
    if (!ds) ds = raster::open_raster(path);  // throws with the reason
    const auto it = criteria.find("variable");
    std::vector<std::string> names;
    const std::string sub = find_subdataset(ds.get(), it == criteria.end() ? std::string() : it->second, names);
    if (!sub.empty()) {
      sel.path = sub;
    } else if (!names.empty() && (it != criteria.end() || ds->GetRasterCount() == 0)) {
      throw InputError(path + ": " +
                       (it == criteria.end() ? "holds several variables; name one with select.variable"
                                             : "has no variable '" + it->second + "'") +
                       " (variables: " + join(names, ", ") + ")");
    }
  }
  const std::vector<WeatherBand> bands = list_weather_bands(sel.path);
  std::vector<const WeatherBand*> matches;
  for (const auto& b : bands) {
    bool ok = true;
    for (const auto& [key, want] : criteria) {
      long long t = 0;
      if (key == "variable") {
        ok = ok && (sel.path != path || b.element.empty() || b.element == want);
      } else if (key == "element") {
        ok = ok && same_element(b.element, want);
      } else if (key == "level" && !b.level.empty()) {
        ok = ok && b.level == want;
      } else if (key == "valid" || key == "ref") {
        if (!parse_iso_time(want, t))
          throw InputError(path + ": select." + key + " '" + want + "' is not a time like 2026-07-01T12:00Z");
        ok = ok && (key == "valid" ? (b.has_valid && b.valid == t) : (b.has_ref && b.ref == t));
      } else if (key == "lead") {
        if (!parse_lead(want, t)) throw InputError(path + ": select.lead '" + want + "' is not a lead time like 24h");
        ok = ok && b.lead_seconds == t;
      } else {
        const auto d = b.dims.find(key);
        ok = ok && d != b.dims.end() && same_value(d->second, want);
      }
    }
    if (ok) matches.push_back(&b);
  }
  std::string wanted;
  for (const auto& [k, v] : criteria) wanted += (wanted.empty() ? "" : ", ") + k + ": " + v;
  if (matches.size() != 1) {
    std::vector<std::string> lines;
    for (const auto& b : bands) lines.push_back("  " + b.describe());
    throw InputError(path + ": " + (matches.empty() ? "no band matches" : std::to_string(matches.size()) + " bands match") +
                     " {" + wanted + "}" + (matches.empty() ? "" : "; add criteria to pick one") +
                     ". Available:\n" + join(lines, "\n"));
  }
  sel.meta = *matches.front();
  sel.band = sel.meta.band;
  // HDF5 satellite grids GDAL reads without coordinates (IMERG's lon-major order, AGRI's
  // geostationary images): georeferenced from the file's own coordinates and attributes.
  if (auto geo = raster::georeference_hdf5_band(sel.path, sel.band, calibrate)) {
    if (calibrate) sel.meta.units = raster::agri_calibrated_units(sel.path);
    sel.path = *geo;
    sel.band = 1;
  } else if (calibrate) {
    throw InputError(path + ": `calibrate: true` applies to FY-4 AGRI L1 channels (NOMChannelNN with a "
                     "CALChannelNN table); this band has no calibration table — remove `calibrate`");
  }
  sel.scale = sel.meta.pack_scale;
  sel.offset = sel.meta.pack_offset;
  sel.units = sel.meta.units;
  if (!units.empty()) {
    if (sel.meta.units.empty())
      throw InputError(path + ": band " + std::to_string(sel.band) + " does not state its units; cannot convert to '" +
                       units + "' (drop `units:` and convert with raster.calc)");
    const auto conv = models::unit_conversion(sel.meta.units, units);
    if (!conv)
      throw InputError(path + ": cannot convert band " + std::to_string(sel.band) + " from '" + sel.meta.units +
                       "' to '" + units + "'");
    sel.offset = sel.offset * conv->scale + conv->offset;
    sel.scale *= conv->scale;
    sel.units = units;
  }
  expose_band(sel);
  return sel;
}

}  // namespace qinling::pipeline
