// The viewer page of `qinling serve`: where its files are (OpenLayers bundled at build time) and
// the layer list it reads (/layers.json).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "raster/tile_metadata.hpp"

namespace qinling::pipeline {

// The folder holding index.html, viewer.js, viewer.css, ol.js and ol.css: $QINLING_VIEWER_DIR,
// else viewer/ next to the executable (the build folder), else ../share/qinling/viewer from it
// (an install). nullopt when none is complete (the build had no npm).
std::optional<std::string> find_viewer_dir();

// MIME type of a viewer file by its extension.
const char* viewer_mime(const std::string& name);

// What /layers.json returns: per layer its id, title, format, lon/lat bounds, the zoom span of
// each matrix set, and its legend (null for layers without a ramp, e.g. RGB).
std::string layers_json(const std::vector<raster::WmtsLayer>& layers);

}  // namespace qinling::pipeline
