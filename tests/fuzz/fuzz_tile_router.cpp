// Fuzz target: the URL router of `qinling serve`. Input: a path, then optionally '?' and
// key=value pairs joined by '&'. Whatever the URL, a tile route must name a known matrix set and
// a tile inside its matrix, and a layer name must be one path segment (so it can only be looked up).
#include <cstdint>
#include <map>
#include <string>

#include "pipeline/tile_router.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string url(reinterpret_cast<const char*>(data), size);
  const auto q = url.find('?');
  const std::string path = url.substr(0, q);
  std::multimap<std::string, std::string> params;
  if (q != std::string::npos) {
    std::size_t start = q + 1;
    while (start <= url.size()) {
      std::size_t amp = url.find('&', start);
      if (amp == std::string::npos) amp = url.size();
      const std::string kv = url.substr(start, amp - start);
      const auto eq = kv.find('=');
      params.emplace(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
      start = amp + 1;
    }
  }
  using Kind = qinling::pipeline::TileRoute::Kind;
  const auto r = qinling::pipeline::route_tile_request(path, params);
  if (r.kind == Kind::tile) {
    if (r.matrix_set != "WebMercatorQuad" && r.matrix_set != "CGCS2000Quad") __builtin_trap();
    if (r.z < 0 || r.z > 30 || r.x < 0 || r.y < 0 || r.x >= (1 << r.z) || r.y >= (1 << r.z)) __builtin_trap();
  }
  if ((r.kind == Kind::tile || r.kind == Kind::tilejson) &&
      (r.layer.empty() || (path != "/wmts" && r.layer.find('/') != std::string::npos)))
    __builtin_trap();
  return 0;
}
