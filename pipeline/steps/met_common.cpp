#include "pipeline/steps/met_common.hpp"

#include <ogr_spatialref.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string_view>
#include <unordered_map>

#include "models/errors.hpp"
#include "pipeline/steps/builtin.hpp"
#include "raster/coord_transform.hpp"
#include "raster/gdal_io.hpp"

namespace qinling::pipeline::steps {
namespace {

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    else if (c == sep && !quoted) {
      out.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(cur);
  for (auto& s : out) {
    while (!s.empty() && s.front() == ' ') s.erase(s.begin());
    while (!s.empty() && s.back() == ' ') s.pop_back();
  }
  return out;
}

// The fields of `line` as views: straight into the line when it has no quotes or stray CRs (a
// table of many rows is read without an allocation per cell), else through split() into `owned`.
void split_views(std::string& line, char sep, std::vector<std::string>& owned, std::vector<std::string_view>& out) {
  out.clear();
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.find_first_of("\"\r") != std::string::npos) {
    owned = split(line, sep);
    for (const auto& s : owned) out.emplace_back(s);
    return;
  }
  std::string_view rest(line);
  while (true) {
    const auto at = rest.find(sep);
    std::string_view field = rest.substr(0, at);
    while (!field.empty() && field.front() == ' ') field.remove_prefix(1);
    while (!field.empty() && field.back() == ' ') field.remove_suffix(1);
    out.push_back(field);
    if (at == std::string_view::npos) break;
    rest.remove_prefix(at + 1);
  }
}

}  // namespace

LayerRef resolve_layer(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& kp,
                       const std::string& option, const std::string& name) {
  LayerRef ref;
  if (name.empty()) return ref;
  if (ctx.is_step(name)) {
    if (ctx.is_product(name)) diag.error(line, kp + "." + option, "'" + name + "' is a product, not a per-pixel layer");
    ref.key = name;
    ref.is_step = true;
    return ref;
  }
  std::string input = name, band;
  if (!ctx.is_input(name)) {
    if (const auto dot = name.find('.'); dot != std::string::npos) {
      input = name.substr(0, dot);
      band = name.substr(dot + 1);
    }
  }
  if (!ctx.is_input(input)) {
    std::string known;
    for (const auto& [n, b] : ctx.input_bands) known += (known.empty() ? "" : ", ") + n;
    for (const auto& s : ctx.step_ids) known += (known.empty() ? "" : ", ") + s;
    diag.error(line, kp + "." + option, "'" + name + "' is neither an input nor a step (known: " + known + ")");
    return ref;
  }
  const auto& bands = ctx.input_bands.at(input);
  if (band.empty()) {
    if (bands.size() != 1) {
      diag.error(line, kp + "." + option, "input '" + input + "' has several bands; write " + input + ".BAND");
      return ref;
    }
    band = bands.front();
  }
  require_input_band(ctx, diag, line, kp, input, band, option);
  ref.key = band_key(input, band);
  if (auto it = ctx.band_files.find(ref.key); it != ctx.band_files.end()) ref.file = it->second;
  return ref;
}

raster::BandSource layer_source(const LayerRef& ref, const ProductContext& ctx) {
  if (ref.is_step) return raster::BandSource(ctx.rasters.at(ref.key), 1);
  return raster::BandSource(ref.file.first, ref.file.second);
}

StationTable read_stations(const std::string& path, const StationColumns& c, bool need_elevation, double min,
                           double max, const std::vector<std::string>& missing) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open the station table");
  std::string header;
  if (!std::getline(in, header)) throw InputError(path + ": the station table is empty");
  if (header.rfind("\xEF\xBB\xBF", 0) == 0) header.erase(0, 3);  // UTF-8 BOM
  const char sep = header.find(';') != std::string::npos && header.find(',') == std::string::npos ? ';' : ',';
  const auto names = split(header, sep);
  auto column = [&](const std::string& want, bool required) -> int {
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == want) return int(i);
    if (!required) return -1;
    std::string have;
    for (const auto& n : names) have += (have.empty() ? "" : ", ") + n;
    throw InputError(path + ": has no column '" + want + "' (columns: " + have +
                     "); set the step's *_column options to the right names");
  };
  const int ci = column(c.id, false), cx = column(c.lon, true), cy = column(c.lat, true),
            cz = column(c.elevation, need_elevation), cv = column(c.value, true),
            cl = c.lead.empty() ? -1 : column(c.lead, true);
  std::size_t line_no = 1;
  // A missing value (empty, NA, NaN, a listed marker) is false; text that is no number is an error
  // naming the cell, since it is a wrong file (decimal comma, shifted columns), not a gap in the data.
  auto number = [&](const std::vector<std::string_view>& f, int col, double& v) {
    if (col < 0 || col >= int(f.size())) return false;
    const std::string_view s = f[std::size_t(col)];
    if (s.empty() || s == "NA" || s == "NaN" || s == "nan") return false;
    for (const auto& m : missing)
      if (s == m) return false;
    // from_chars (no allocation) for plain decimals; strtod for what it alone accepts (+1, hex).
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size()) {
      const std::string text(s);
      char* end = nullptr;
      v = std::strtod(text.c_str(), &end);
      if (end == text.c_str() || *end != '\0')
        throw InputError(path + ":" + std::to_string(line_no) + ": column '" + names[std::size_t(col)] + "': '" +
                         text + "' is not a number (write decimals with a point; list texts meaning missing under "
                         "missing_values)");
    }
    return std::isfinite(v);
  };
  StationTable t;
  std::string line;
  std::vector<std::string> owned;
  std::vector<std::string_view> f;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line == "\r") continue;
    ++t.rows;
    split_views(line, sep, owned, f);
    if (f.size() != names.size())
      throw InputError(path + ":" + std::to_string(line_no) + ": " + std::to_string(f.size()) +
                       " fields where the header has " + std::to_string(names.size()) +
                       " (a stray separator? a decimal comma in a comma-separated file?)");
    double x = 0, y = 0, z = NAN, v = 0, lead = NAN;
    if (!number(f, cx, x) || !number(f, cy, y) || !number(f, cv, v) || (need_elevation && !number(f, cz, z)) ||
        (cl >= 0 && !number(f, cl, lead))) {
      ++t.missing;
      continue;
    }
    if (!need_elevation && cz >= 0 && !number(f, cz, z)) z = NAN;
    if (v < min || v > max || x < -180 || x > 360 || y < -90 || y > 90) {
      ++t.out_of_range;
      continue;
    }
    t.ids.push_back(ci >= 0 && ci < int(f.size()) ? std::string(f[std::size_t(ci)]) : std::to_string(t.rows));
    t.lon.push_back(x);
    t.lat.push_back(y);
    t.elevation.push_back(z);
    t.value.push_back(v);
    if (cl >= 0) t.lead.push_back(lead);
  }
  return t;
}

std::vector<models::Station> project_stations(const StationTable& t, const raster::Grid& grid) {
  raster::init_gdal();
  OGRSpatialReference wgs84, dst;
  wgs84.SetWellKnownGeogCS("WGS84");
  dst.importFromWkt(grid.crs_wkt.c_str());
  const raster::TransformPtr ct =
      raster::make_transform(wgs84, dst, "station coordinates from WGS84 to the grid's CRS");
  // Each distinct location once, in one batch: a table of many lead times repeats every station.
  struct PairHash {
    std::size_t operator()(const std::pair<double, double>& p) const noexcept {
      return std::hash<double>()(p.first) * 31 + std::hash<double>()(p.second);
    }
  };
  std::unordered_map<std::pair<double, double>, std::size_t, PairHash> index;
  std::vector<std::size_t> of(t.size());
  std::vector<double> x, y;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const double lon = t.lon[i] > 180 ? t.lon[i] - 360 : t.lon[i];
    const auto [it, added] = index.emplace(std::pair{lon, t.lat[i]}, x.size());
    if (added) {
      x.push_back(lon);
      y.push_back(t.lat[i]);
    }
    of[i] = it->second;
  }
  raster::transform_points(*ct, x.data(), y.data(), x.size());
  std::vector<models::Station> out(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) out[i] = {x[of[i]], y[of[i]], t.value[i]};
  return out;
}

void declare_station_options(OptionBinder& b, std::string* path, StationColumns* c, std::vector<double>* range,
                             std::vector<std::string>* missing, bool required) {
  const char* doc = "station table (CSV with a header row), relative to the job file";
  if (required) b.required("stations", path, doc);
  else b.optional("stations", path, doc);
  b.optional("id_column", &c->id, "column of the station id")
      .optional("lon_column", &c->lon, "column of the longitude (WGS84 degrees)")
      .optional("lat_column", &c->lat, "column of the latitude (WGS84 degrees)")
      .optional("elevation_column", &c->elevation, "column of the station elevation (m)")
      .optional("value_column", &c->value, "column of the observed value")
      .optional("valid_range", range, "[min, max]: rows with a value outside are rejected and counted")
      .optional("missing_values", missing, "cell texts meaning missing (besides empty, NA, NaN), e.g. -9999");
}

}  // namespace qinling::pipeline::steps
