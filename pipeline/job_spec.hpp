// The job file as typed data: inputs, steps, outputs and the analysis grid, parsed from YAML
// with every unknown key, wrong type and missing field reported at once (file:line).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "pipeline/diagnostics.hpp"
#include "raster/grid.hpp"
#include "raster/writer.hpp"

namespace qinling::pipeline {

// A named band of an input: `red: 4` (band of the input's `path`) or `red: B4.tif` (a file).
struct BandSpec {
  std::string name;
  std::string path;  // absolute
  int band = 1;
  int line = 0;
};

struct InputSpec {
  std::string name;
  std::string path;  // absolute; empty when every band names its own file
  std::vector<BandSpec> bands;  // empty: all bands of `path`, named b1, b2, … (resolved when planning)
  // Bands added to those of `path` (or of the sensor profile's stack), usually from other files:
  // `extra_bands: {thermal: scene_ST_B10.tif}`. Same syntax as `bands`.
  std::vector<BandSpec> extra_bands;
  std::string resampling = "bilinear";
  std::string sensor;             // profile name or path (empty: none)
  std::vector<std::string> mask;  // quality flags to mask, e.g. cloud, shadow, snow
  int line = 0, sensor_line = 0, mask_line = 0;
  // Weather files: pick the band by metadata (pipeline/weather_select.hpp) into one band named
  // "value", converted to `units` when given.
  std::map<std::string, std::string> select;
  std::string units;
  // FY-4 AGRI L1 counts → reflectance / brightness temperature through the file's CALChannelNN table.
  bool calibrate = false;
  int select_line = 0;
  // A set of frames (aerial photos): `path` given as a glob ("flight/*.JPG") or a list of
  // files/globs. Absolute patterns, expanded when planning; such an input has no bands.
  std::vector<std::string> frame_patterns;
  // A mosaic of scenes: `scenes: [a.tif, b.tif]` (absolute, in priority order). Each scene is
  // planned as a hidden input "<name>[i]" right after this one (same sensor, mask, bands, so each
  // keeps its own QA) and composed per pixel by `mosaic` (pipeline/mosaic.hpp).
  std::vector<std::string> scenes;
  std::string mosaic;    // first_valid | best_quality (with `scenes` only)
  std::string scene_of;  // set on a hidden scene input: the mosaic input's name
};

struct StepSpec {
  std::string id, kind;
  YAML::Node node;  // the whole step mapping; the step binds its own options from it
  int line = 0;
};

struct OutputSpec {
  std::string from, path, format;  // path as written in the job (resolved when planning); format
                                   // empty: the step's first format (cog for raster layers)
  raster::CreationOptions options;
  int line = 0;
};

struct GridSpec {
  std::string crs;  // empty: the first input's
  double resolution = 0;  // 0: the first input's
  std::optional<raster::BBox> extent;
  int line = 0;
};

struct JobSpec {
  std::string file;      // absolute path of the job file
  std::string base_dir;  // folder relative paths are resolved against
  std::string name;
  std::optional<GridSpec> grid;
  std::vector<InputSpec> inputs;
  std::vector<StepSpec> steps;
  std::vector<OutputSpec> outputs;
  int memory_mb = 512;
};

// Parses `file`; problems go to `diag` (the caller decides when to throw). Throws ConfigError
// only when the file cannot be read or is not YAML at all.
JobSpec parse_job(const std::string& file, Diagnostics& diag);

// Resolves `p` against `base` unless it is absolute or a GDAL virtual path (/vsi…, NETCDF:…).
std::string resolve_path(const std::string& base, const std::string& p);
// True when `p` holds a glob wildcard (*, ? or [).
bool is_glob(const std::string& p);

}  // namespace qinling::pipeline
