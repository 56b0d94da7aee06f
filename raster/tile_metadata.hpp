// Describing tilesets to clients: TileJSON 3.0, OGC WMTS 1.0 GetCapabilities, and our own small
// manifest (tileset.json) that `qinling serve` reads back.
#pragma once

#include <string>
#include <vector>

#include "raster/mbtiles.hpp"
#include "raster/tile_matrix.hpp"

namespace qinling::raster {

// One matrix set of a layer: which tiles exist per level, and where to fetch them.
struct LayerMatrixSet {
  const TileMatrixSet* tms = nullptr;
  std::vector<TileRange> ranges;  // one per level, min zoom first
  std::string url_template;  // WMTS placeholders {TileMatrixSet} {TileMatrix} {TileCol} {TileRow}
};

struct WmtsLayer {
  std::string id, title, abstract;
  BBox lonlat;
  TileFormat format = TileFormat::png;
  std::vector<LayerMatrixSet> sets;
};

// TileJSON 3.0.0 for an XYZ (WebMercatorQuad) tileset; `tiles_url` uses {z}/{x}/{y}.
std::string tilejson(const TilesetInfo& info, const std::string& tiles_url);

// The capabilities document. Scale denominators follow OGC 17-083r2 (0.28 mm pixels), and
// TopLeftCorner follows each CRS's axis order (latitude first for EPSG:4490). `kvp_url` (may be
// empty) is announced for KVP GetCapabilities/GetTile.
std::string wmts_capabilities(const std::vector<WmtsLayer>& layers, const std::string& kvp_url);

// tileset.json: name, format, lon/lat bounds and, per matrix set, the tile ranges of each level.
std::string tileset_manifest(const WmtsLayer& layer);
// Parses a manifest written by tileset_manifest (url templates are left empty).
WmtsLayer parse_tileset_manifest(const std::string& json_text, const std::string& path);

}  // namespace qinling::raster
