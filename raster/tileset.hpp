// One tiling run: a layer into XYZ folders (one per matrix set, with TileJSON, WMTS capabilities
// and a manifest), MBTiles and PMTiles (WebMercatorQuad), all from the same render.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "raster/colour_ramp.hpp"
#include "raster/tile_metadata.hpp"
#include "raster/tile_pyramid.hpp"

namespace qinling::raster {

struct TilesetRequest {
  std::string source;  // the layer (GeoTIFF or anything GDAL reads)
  std::string name;    // layer name; default: the file's stem
  std::vector<std::string> matrix_sets = {"WebMercatorQuad", "CGCS2000Quad"};
  std::optional<ZoomRange> zoom;  // default: from the layer's resolution and extent
  std::optional<ColourRamp> ramp;  // single-band layers; default_ramp() when absent
  std::optional<std::pair<double, double>> range;  // value range for the ramp; default: ramp's, else statistics
  TileFormat format = TileFormat::png;
  // Shaded relief (one band 0..255) multiplied into a value layer's colours; empty: none.
  std::string hillshade;
  double hillshade_strength = 0.6;  // 0 = no shading, 1 = full multiply
  std::string xyz_dir, mbtiles_path, pmtiles_path;  // empty: not wanted
  int threads = 1;
  // Called with a phase label and the fraction done of that phase.
  std::function<void(const std::string&, double)> progress;
  // Splitting every pyramid over processes (MPI ranks): `part_path` names a part's file, to
  // which "-<matrix set>" is appended. Parts other than 0 render only their share: they ask for
  // no outputs and write no manifest or journal.
  PyramidSplit split{};
};

struct TilesetReport {
  struct Set {
    std::string id;
    ZoomRange zoom;
    long long tiles = 0, empty = 0;
    // Tiles drawn now (all of them, or in incremental runs those whose pixels changed), kept from
    // the last run, and taken from the journal of an interrupted run (`.<output>.qinling-journal`).
    long long drawn = 0, kept = 0, resumed = 0;
    std::vector<long long> drawn_per_zoom;  // from zoom.min
    std::string render;  // "incremental", or why every tile was drawn ("no previous render", …)
    std::vector<long long> rendered_per_part;  // split runs, on part 0: see PyramidResult
  };
  LayerKind kind = LayerKind::value;
  std::pair<double, double> value_range{0, 0};
  std::vector<Set> sets;
  long long tiles() const;
};

// Validates the request (throws ConfigError) and builds everything it asks for. Each output is
// written under a temporary name and moved into place only when complete. When the outputs hold a
// previous render with the same settings (the manifest `.qinling-tiles` inside the XYZ folder, or
// `.<file>.qinling-tiles` beside the MBTiles/PMTiles), only tiles whose pixels changed are drawn.
TilesetReport build_tileset(const TilesetRequest& request);

}  // namespace qinling::raster
