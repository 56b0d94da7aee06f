// Colour ramps from YAML files (configs/ramps/NAME.yaml): finding them by name and parsing them
// with file:line errors.
#pragma once

#include <string>
#include <vector>

#include "raster/colour_ramp.hpp"

namespace qinling::pipeline {

// Folders searched for NAME.yaml, in order: $QINLING_RAMPS, `extra` (e.g. the job's folder's
// ramps/ and ../configs/ramps), then configs/ramps next to the binary and in the source tree.
std::vector<std::string> ramp_search_dirs(const std::vector<std::string>& extra);

// `name_or_path` is a ramp name or a .yaml file. Throws ConfigError naming the file and line, or
// listing the ramps that exist when the name is unknown.
raster::ColourRamp load_ramp(const std::string& name_or_path, const std::vector<std::string>& search_dirs);
raster::ColourRamp parse_ramp_file(const std::string& path);

}  // namespace qinling::pipeline
