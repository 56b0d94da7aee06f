// Describing tilesets to clients: TileJSON 3.0, OGC WMTS 1.0 GetCapabilities, and our own small
// manifest (tileset.json) that `qinling serve` reads back.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "raster/colour_ramp.hpp"
#include "raster/mbtiles.hpp"
#include "raster/tile_matrix.hpp"

namespace qinling::raster {

// One matrix set of a layer: which tiles exist per level, and where to fetch them.
struct LayerMatrixSet {
  const TileMatrixSet* tms = nullptr;
  std::vector<TileRange> ranges;  // one per level, min zoom first
  std::string url_template;  // WMTS placeholders {TileMatrixSet} {TileMatrix} {TileCol} {TileRow}
};

// What a layer's colours mean, for a viewer's legend: sample values along a continuous or
// diverging ramp (value order), or the classes of a categorical one.
struct LegendEntry {
  double value = 0;
  Rgba colour{};
  std::string label;  // categorical classes only
};
struct Legend {
  std::string ramp;
  RampKind kind = RampKind::continuous;
  std::vector<LegendEntry> entries;
};

struct WmtsLayer {
  std::string id, title, abstract;
  BBox lonlat;
  TileFormat format = TileFormat::png;
  std::vector<LayerMatrixSet> sets;
  std::optional<Legend> legend;  // layers drawn through a ramp
};

// The legend of `ramp` as drawn by `renderer` (its value range).
Legend make_legend(const ColourRamp& ramp, const RampRenderer& renderer);
// The legend as a JSON object: {"ramp", "kind", "entries": [{"value", "colour": "#rrggbbaa", "label"}]}.
std::string legend_json(const Legend& legend);

// TileJSON 3.0.0 for an XYZ (WebMercatorQuad) tileset; `tiles_url` uses {z}/{x}/{y}.
std::string tilejson(const TilesetInfo& info, const std::string& tiles_url);

// The capabilities document. Scale denominators follow OGC 17-083r2 (0.28 mm pixels), and
// TopLeftCorner follows each CRS's axis order (latitude first for EPSG:4490). `kvp_url` (may be
// empty) is announced for KVP GetCapabilities/GetTile.
std::string wmts_capabilities(const std::vector<WmtsLayer>& layers, const std::string& kvp_url);

// tileset.json: name, format, lon/lat bounds, per matrix set the tile ranges of each level, and the
// legend when the layer has one.
std::string tileset_manifest(const WmtsLayer& layer);
// Parses a manifest written by tileset_manifest (url templates are left empty).
WmtsLayer parse_tileset_manifest(const std::string& json_text, const std::string& path);

}  // namespace qinling::raster
