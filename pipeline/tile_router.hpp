// URL → request for `qinling serve`: the one place where a URL is interpreted, so what a client can
// reach is decided here (layer names are only looked up, never joined into paths; tile numbers bounded).
#pragma once

#include <map>
#include <string>

namespace qinling::pipeline {

struct TileRoute {
  enum class Kind { not_found, bad_request, index, capabilities, tilejson, tile };
  Kind kind = Kind::not_found;
  std::string layer;        // tilejson, tile
  std::string matrix_set;   // tile: WebMercatorQuad or CGCS2000Quad
  int z = 0, x = 0, y = 0;  // tile: 0 <= z <= 30, 0 <= x, y < 2^z
};

// `path` is the request path as decoded by the HTTP server, `params` its query parameters
// (WMTS KVP names are case-insensitive). Never throws.
TileRoute route_tile_request(const std::string& path, const std::multimap<std::string, std::string>& params);

}  // namespace qinling::pipeline
