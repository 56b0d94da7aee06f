#include "pipeline/info_command.hpp"

#include <fmt/format.h>
#include <gdal_priv.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <vector>

#include "models/errors.hpp"
#include "pipeline/weather_select.hpp"
#include "raster/gdal_io.hpp"

namespace qinling::pipeline {
namespace {

constexpr std::size_t kBandsShown = 24;

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Numbers in numeric order (levels 10, 100, 1000), other texts alphabetically after them.
struct NumericFirst {
  static bool number(const std::string& s, double& v) {
    char* end = nullptr;
    v = std::strtod(s.c_str(), &end);
    return !s.empty() && *end == '\0';
  }
  bool operator()(const std::string& a, const std::string& b) const {
    double x = 0, y = 0;
    const bool na = number(a, x), nb = number(b, y);
    if (na && nb && x != y) return x < y;
    if (na != nb) return na;
    return a < b;
  }
};
using Values = std::set<std::string, NumericFirst>;

// A set of texts as "a, b, c" (at most 8, then "… (N)").
std::string list(const Values& values) {
  std::string out;
  std::size_t i = 0;
  for (const auto& v : values) {
    if (i++ == 8) return out + fmt::format(", … ({} in all)", values.size());
    out += (out.empty() ? "" : ", ") + v;
  }
  return out;
}

// One raster dataset (a file or a NetCDF/HDF5 variable): grid, then the bands' variables, levels and times.
void describe_bands(const std::string& name, const std::string& label, bool all_bands) {
  raster::DatasetPtr ds = raster::open_raster(name);
  const std::vector<WeatherBand> bands = list_weather_bands(name);
  std::string crs = "no CRS";
  if (const OGRSpatialReference* s = ds->GetSpatialRef()) crs = s->GetName() ? s->GetName() : "unnamed CRS";
  std::printf("%s: %d x %d cells, %zu band(s), %s\n", label.c_str(), ds->GetRasterXSize(),
              ds->GetRasterYSize(), bands.size(), crs.c_str());
  Values elements, levels, times, refs, leads, units;
  std::map<std::string, Values> dims;
  for (const auto& b : bands) {
    if (!b.element.empty()) elements.insert(b.element);
    if (!b.level.empty()) levels.insert(b.level);
    if (b.has_valid) times.insert(format_iso_time(b.valid));
    if (b.has_ref) refs.insert(format_iso_time(b.ref));
    if (b.lead_seconds >= 0) leads.insert(fmt::format("{}h", b.lead_seconds / 3600));
    if (!b.units.empty()) units.insert(b.units);
    for (const auto& [k, v] : b.dims) dims[k].insert(v);
  }
  if (!elements.empty()) std::printf("  variables: %s\n", list(elements).c_str());
  if (!units.empty()) std::printf("  units: %s\n", list(units).c_str());
  if (!levels.empty()) std::printf("  levels: %s\n", list(levels).c_str());
  if (!times.empty())
    std::printf("  valid times: %zu, %s .. %s\n", times.size(), times.begin()->c_str(),
                times.rbegin()->c_str());
  if (!refs.empty()) std::printf("  reference times: %s\n", list(refs).c_str());
  if (!leads.empty()) std::printf("  leads: %s\n", list(leads).c_str());
  for (const auto& [k, v] : dims) std::printf("  %s: %s\n", k.c_str(), list(v).c_str());
  const std::size_t shown = all_bands ? bands.size() : std::min(bands.size(), kBandsShown);
  for (std::size_t i = 0; i < shown; ++i)
    if (const std::string d = bands[i].describe(); d.back() != ':') std::printf("  %s\n", d.c_str());
  if (shown < bands.size())
    std::printf("  … %zu more bands (--all lists every band)\n", bands.size() - shown);
}

// A station table: columns, rows, and per column the numeric range or, for time columns, the first/last text.
void describe_table(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open the table");
  std::string header, line;
  if (!std::getline(in, header)) throw InputError(path + ": the table is empty");
  if (header.rfind("\xEF\xBB\xBF", 0) == 0) header.erase(0, 3);
  const char sep = header.find(';') != std::string::npos && header.find(',') == std::string::npos ? ';' : ',';
  auto split = [&](const std::string& l) {
    std::vector<std::string> f(1);
    bool quoted = false;
    for (char c : l) {
      if (c == '"')
        quoted = !quoted;
      else if (c == sep && !quoted)
        f.emplace_back();
      else if (c != '\r')
        f.back() += c;
    }
    return f;
  };
  const auto names = split(header);
  struct Column {
    double lo = INFINITY, hi = -INFINITY;
    std::size_t numbers = 0, texts = 0, empty = 0;
    std::string first, last;  // lexicographic, for times and ids
  };
  std::vector<Column> cols(names.size());
  std::size_t rows = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line == "\r") continue;
    ++rows;
    const auto f = split(line);
    for (std::size_t i = 0; i < f.size() && i < cols.size(); ++i) {
      const std::string& v = f[i];
      Column& c = cols[i];
      if (v.empty() || v == "NA" || lower(v) == "nan") {
        ++c.empty;
        continue;
      }
      char* end = nullptr;
      const double x = std::strtod(v.c_str(), &end);
      if (end != v.c_str() && *end == '\0') {
        ++c.numbers;
        c.lo = std::min(c.lo, x), c.hi = std::max(c.hi, x);
      } else {
        ++c.texts;
      }
      if (c.first.empty() || v < c.first) c.first = v;
      if (c.last.empty() || v > c.last) c.last = v;
    }
  }
  std::printf("%s: station table, %zu rows, %zu columns (separator '%c')\n", path.c_str(), rows, names.size(),
              sep);
  for (std::size_t i = 0; i < names.size(); ++i) {
    const Column& c = cols[i];
    std::string what;
    const std::string n = lower(names[i]);
    if (c.texts > 0 || n.find("time") != std::string::npos || n.find("date") != std::string::npos)
      what = c.first.empty() ? "empty" : "text " + c.first + " .. " + c.last;
    else if (c.numbers > 0)
      what = fmt::format("numbers {:g} .. {:g}", c.lo, c.hi);
    else
      what = "empty";
    std::printf("  %s: %s%s\n", names[i].c_str(), what.c_str(),
                c.empty ? fmt::format(" ({} missing)", c.empty).c_str() : "");
  }
}

}  // namespace

int command_info(const std::string& path, bool all_bands) {
  raster::init_gdal();
  if (!std::filesystem::exists(path)) throw InputError(path + ": no such file");
  const std::string ext = lower(std::filesystem::path(path).extension().string());
  if (ext == ".csv" || ext == ".txt" || ext == ".tsv") {
    describe_table(path);
    return 0;
  }
  // Not open_raster: a NetCDF/HDF5 container with variables only has no bands of its own.
  raster::DatasetPtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  if (!ds) throw InputError(path + ": GDAL cannot read it as a raster, and it is not a .csv station table");
  std::printf("%s (%s)\n", path.c_str(), ds->GetDriver() ? ds->GetDriver()->GetDescription() : "?");
  // Containers (NetCDF/HDF5 with several variables) list their variables as subdatasets.
  std::vector<std::pair<std::string, std::string>> subs;  // name, description
  if (char** sd = ds->GetMetadata("SUBDATASETS"))
    for (int i = 1;; ++i) {
      const char* name = CSLFetchNameValue(sd, fmt::format("SUBDATASET_{}_NAME", i).c_str());
      if (!name) break;
      const char* desc = CSLFetchNameValue(sd, fmt::format("SUBDATASET_{}_DESC", i).c_str());
      subs.emplace_back(name, desc ? desc : name);
    }
  if (ds->GetRasterCount() > 0) describe_bands(path, "bands", all_bands);
  for (const auto& [name, desc] : subs) {
    try {
      describe_bands(name, "variable " + desc, all_bands);
    } catch (const Error& e) {  // one unreadable variable does not hide the others
      std::printf("variable %s: cannot be read as a raster (%s)\n", desc.c_str(), e.what());
    }
  }
  if (ds->GetRasterCount() == 0 && subs.empty()) std::printf("  no raster bands or variables\n");
  return 0;
}

}  // namespace qinling::pipeline
