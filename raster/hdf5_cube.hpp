// HDF5 gridded cube output: float32 layers on the analysis grid written into one HDF5 file with
// CF-style attributes (units, long_name, grid mapping with the CRS, x/y/time coordinates).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "raster/grid.hpp"
#include "raster/writer.hpp"

namespace qinling::raster {

// One layer of a cube: which variable it belongs to and, for time series, its date. Parsed from
// an output's `options:` (variable, units, long_name, time, deflate, chunk).
struct Hdf5LayerSpec {
  std::string variable, units, long_name;
  std::optional<double> time_days;  // days since 1970-01-01T00:00:00Z
  std::string time_text;            // as written in the job
  int deflate = 4;                  // 0 (none) … 9
  int chunk = 256;                  // chunk edge in pixels
};

// Parses the options of an `format: hdf5` output; `default_variable` (the step id) names the
// variable when `variable` is not given. Throws ConfigError naming the bad option.
Hdf5LayerSpec parse_hdf5_options(const CreationOptions& options, const std::string& default_variable);

// Checks that the layers of one file fit together: a variable is either a single 2-D layer or a
// series with distinct times, and its units/long_name agree. Throws ConfigError.
void check_hdf5_layers(const std::vector<Hdf5LayerSpec>& layers);

// Days since 1970-01-01 of "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM[:SS][Z]"; nullopt when malformed.
std::optional<double> parse_iso_days(const std::string& text);

// A layer's pixels come from a staging raster of the streamed pass or, for a product step's
// raster (met.regrid, met.interpolate_stations, ...), from band 1 of a finished GeoTIFF.
struct Hdf5Layer {
  Hdf5LayerSpec spec;
  const StagingRaster* staging = nullptr;
  std::string raster_path;  // used when staging is null; its nodata is written as NaN
};

// Writes `layers` (all on one grid: the staging rasters' or the first raster's) into `path`: under a temporary sibling name,
// chunk by chunk (memory: one chunk), renamed over `path` when complete. A
// variable with times becomes a (time, y, x) dataset sorted by time, otherwise (y, x). The HDF5
// library is not thread-safe in Debian's build: call from one thread at a time.
void publish_hdf5(const std::string& path, const std::vector<Hdf5Layer>& layers, const ProgressFn& progress);

}  // namespace qinling::raster
