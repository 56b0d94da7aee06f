#include "pipeline/tile_router.hpp"

#include <cctype>
#include <optional>
#include <vector>

namespace qinling::pipeline {
namespace {

constexpr int kMaxZoom = 30;

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 1;  // after the leading '/'
  while (start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    const std::size_t end = slash == std::string::npos ? path.size() : slash;
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// A non-negative decimal integer that fits an int (2^30 - 1, the last tile at z 30, has 10
// digits), or nothing.
std::optional<int> small_number(const std::string& s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v > 0x7FFFFFFF) return std::nullopt;
  return int(v);
}

bool known_set(const std::string& s) { return s == "WebMercatorQuad" || s == "CGCS2000Quad"; }

// Fills the tile fields; a tile outside the matrix is simply not found.
TileRoute tile(const std::string& layer, const std::string& set, const std::string& z, const std::string& x,
               const std::string& y, TileRoute::Kind bad_number) {
  TileRoute r;
  const auto zz = small_number(z), xx = small_number(x), yy = small_number(y);
  if (!zz || !xx || !yy) {
    r.kind = bad_number;
    return r;
  }
  if (layer.empty() || !known_set(set) || *zz > kMaxZoom || *xx >= (1 << *zz) || *yy >= (1 << *zz)) return r;
  r.kind = TileRoute::Kind::tile;
  r.layer = layer;
  r.matrix_set = set;
  r.z = *zz;
  r.x = *xx;
  r.y = *yy;
  return r;
}

// "12.png" → "12" when the extension is one we serve.
std::optional<std::string> strip_tile_extension(const std::string& name) {
  for (const std::string ext : {".png", ".webp"})
    if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0)
      return name.substr(0, name.size() - ext.size());
  return std::nullopt;
}

TileRoute route_kvp(const std::multimap<std::string, std::string>& params) {
  std::map<std::string, std::string> p;
  for (const auto& [k, v] : params) {
    std::string key = k;
    for (auto& c : key) c = char(std::toupper(static_cast<unsigned char>(c)));
    p[key] = v;
  }
  TileRoute r;
  if (p["REQUEST"] == "GetCapabilities") {
    r.kind = TileRoute::Kind::capabilities;
    return r;
  }
  if (p["REQUEST"] != "GetTile") {
    r.kind = TileRoute::Kind::bad_request;
    return r;
  }
  return tile(p["LAYER"], p["TILEMATRIXSET"], p["TILEMATRIX"], p["TILECOL"], p["TILEROW"],
              TileRoute::Kind::bad_request);
}

}  // namespace

TileRoute route_tile_request(const std::string& path, const std::multimap<std::string, std::string>& params) {
  TileRoute r;
  if (path.empty() || path.front() != '/') return r;
  if (path == "/" || path == "/viewer/" || path == "/viewer") {
    r.kind = TileRoute::Kind::index;
    return r;
  }
  if (path == "/layers.json" || path == "/stats") {
    r.kind = path == "/stats" ? TileRoute::Kind::stats : TileRoute::Kind::layers;
    return r;
  }
  // Anything else under /viewer/ falls through, so a layer named "viewer" is still reachable.
  if (path.rfind("/viewer/", 0) == 0)
    for (const char* a : kViewerAssets)
      if (path.compare(8, std::string::npos, a) == 0) {
        r.kind = TileRoute::Kind::viewer_asset;
        r.asset = a;
        return r;
      }
  if (path == "/wmts") return route_kvp(params);
  if (path == "/wmts/1.0.0/WMTSCapabilities.xml") {
    r.kind = TileRoute::Kind::capabilities;
    return r;
  }
  const auto parts = split_path(path);
  for (const auto& part : parts)
    if (part.empty()) return r;
  if (parts.size() == 2 && parts[1] == "tilejson.json") {
    r.kind = TileRoute::Kind::tilejson;
    r.layer = parts[0];
    return r;
  }
  if (parts.size() != 4 && parts.size() != 5) return r;
  const auto y = strip_tile_extension(parts.back());
  if (!y) return r;
  if (parts.size() == 4)
    return tile(parts[0], "WebMercatorQuad", parts[1], parts[2], *y, TileRoute::Kind::not_found);
  return tile(parts[0], parts[1], parts[2], parts[3], *y, TileRoute::Kind::not_found);
}

}  // namespace qinling::pipeline
