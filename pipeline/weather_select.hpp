// Choosing one band of a GRIB/NetCDF/HDF5 weather file by its metadata (element, level, valid or
// reference time, lead, NetCDF variable and dimensions) instead of its number, with the unit
// conversion to what the job asks for folded into the band's scale and offset.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace qinling::pipeline {

// What a band says about itself, normalised across drivers.
struct WeatherBand {
  int band = 0;
  std::string element, level, units;  // GRIB_ELEMENT / NetCDF variable; GRIB_SHORT_NAME; unit
  long long valid = 0, ref = 0;       // seconds since 1970 (0: unknown)
  bool has_valid = false, has_ref = false;
  long long lead_seconds = -1;                // GRIB_FORECAST_SECONDS, or valid − ref
  std::map<std::string, std::string> dims;    // NETCDF_DIM_<name> → value
  double pack_scale = 1.0, pack_offset = 0.0;  // the file's own scale_factor/add_offset
  std::string describe() const;               // one line for error messages and `info`
};

// The band picked for an input: a path and band number that read physical values in the requested
// units (an in-memory VRT when a conversion, the file's packing or a CRS had to be added; else the
// file or its NetCDF/HDF5 subdataset). scale/offset: the conversion applied (1, 0 once baked in).
struct WeatherSelection {
  std::string path;
  int band = 1;
  double scale = 1.0, offset = 0.0;
  std::string units;  // the units of the values read (requested, or the file's)
  WeatherBand meta;
};

// Every band of `path` with its metadata. Throws InputError when the file cannot be opened.
std::vector<WeatherBand> list_weather_bands(const std::string& path);

// Picks the one band of `path` matching every criterion: element, level (GRIB_SHORT_NAME), valid,
// ref (ISO times like 2026-07-01T12:00Z), lead (hours, or with a unit: 90m, 6h, 1d), variable
// (a NetCDF/HDF5 variable, read through its GDAL subdataset) and any other key as a NetCDF
// dimension (e.g. level: 850 when the file has no GRIB_SHORT_NAME, time: 2026-07-01T12:00Z).
// `units` empty keeps the file's. `calibrate` maps FY-4 AGRI counts through the file's calibration
// table (raster/hdf5_products.hpp). Throws InputError listing the available bands when none or
// several match, or when the units cannot be converted.
WeatherSelection select_weather_band(const std::string& path, const std::map<std::string, std::string>& criteria,
                                     const std::string& units, bool calibrate = false);

// Parses an ISO 8601 UTC time (2026-07-01, 2026-07-01T12, 2026-07-01T12:00Z, 2026-07-01 12:00:00)
// to seconds since 1970; false when it is not one.
bool parse_iso_time(const std::string& text, long long& seconds);
std::string format_iso_time(long long seconds);

}  // namespace qinling::pipeline
