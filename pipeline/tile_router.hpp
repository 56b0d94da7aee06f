// URL → request for `qinling serve`: the one place where a URL is interpreted, so what a client can
// reach is decided here (layer names are only looked up, never joined into paths; tile numbers bounded).
#pragma once

#include <map>
#include <string>

namespace qinling::pipeline {

struct TileRoute {
  // index: "/" and "/viewer/" (the viewer page); viewer_asset: one of a fixed list of file names
  // under /viewer/; layers: /layers.json (every layer with its legend); stats: /stats (counters).
  enum class Kind { not_found, bad_request, index, capabilities, tilejson, tile, viewer_asset, layers, stats };
  Kind kind = Kind::not_found;
  std::string asset;        // viewer_asset: a bare file name from kViewerAssets
  std::string layer;        // tilejson, tile
  std::string matrix_set;   // tile: WebMercatorQuad or CGCS2000Quad
  int z = 0, x = 0, y = 0;  // tile: 0 <= z <= 30, 0 <= x, y < 2^z
};

// `path` is the request path as decoded by the HTTP server, `params` its query parameters
// (WMTS KVP names are case-insensitive). Never throws.
// The viewer's files (the page's script and style, and OpenLayers' prebuilt bundle).
inline constexpr const char* kViewerAssets[] = {"viewer.js", "viewer.css", "ol.js", "ol.css"};

TileRoute route_tile_request(const std::string& path, const std::multimap<std::string, std::string>& params);

}  // namespace qinling::pipeline
