// Shared by the met.* steps: naming a layer (input band or step), reading station tables with
// range and missing-value checks, and putting stations on the analysis grid.
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "models/meteo.hpp"
#include "pipeline/step.hpp"
#include "raster/grid.hpp"
#include "raster/source.hpp"

namespace qinling::pipeline::steps {

// A layer a met step reads: a pixel step's result or one band of an input ("input" when it has
// one band, or "input.band").
struct LayerRef {
  std::string key;               // per-window key (band_key or step id)
  bool is_step = false;
  std::pair<std::string, int> file;  // for inputs: the file and band (product steps read it directly)
};
// Resolves `name` (option `option`); reports unknown names with what exists.
LayerRef resolve_layer(const ValidationContext& ctx, Diagnostics& diag, int line, const std::string& key_path,
                       const std::string& option, const std::string& name);
// A band source for a resolved layer when running a product step.
raster::BandSource layer_source(const LayerRef& ref, const ProductContext& ctx);

struct StationColumns {
  std::string id = "id", lon = "lon", lat = "lat", elevation = "elevation", value = "value";
  std::string lead;  // the lead time column (hours) of forecast verification; empty: not read
};

struct StationTable {
  std::vector<std::string> ids;
  std::vector<double> lon, lat, elevation, value;
  std::vector<double> lead;  // with columns.lead only (a row without one is rejected as missing)
  std::size_t rows = 0, missing = 0, out_of_range = 0;  // data rows read; rows rejected and why
  std::size_t size() const { return ids.size(); }
};

// Reads a CSV (comma or semicolon separated, header row). A row is rejected (and counted) when
// lon/lat/value (and elevation if `need_elevation`) is empty, NA, NaN or one of `missing`, or the
// value is outside [min, max]. Throws InputError naming the file when a column is absent, and
// file:line when a row has more or fewer fields than the header or a cell is text, not a number.
StationTable read_stations(const std::string& path, const StationColumns& columns, bool need_elevation,
                           double min = -std::numeric_limits<double>::infinity(),
                           double max = std::numeric_limits<double>::infinity(),
                           const std::vector<std::string>& missing = {});

// Station lon/lat (WGS84) → the grid's CRS.
std::vector<models::Station> project_stations(const StationTable& t, const raster::Grid& grid);

// Options every station-reading step declares.
void declare_station_options(OptionBinder& b, std::string* path, StationColumns* cols, std::vector<double>* range,
                             std::vector<std::string>* missing, bool required = true);

}  // namespace qinling::pipeline::steps
