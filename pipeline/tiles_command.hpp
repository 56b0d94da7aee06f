// `qinling tiles LAYER OUTDIR`: a one-off tiling of a layer (XYZ folders in both matrix sets,
// MBTiles, PMTiles, TileJSON, WMTS capabilities), and the option parsing it shares with the step.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/commands.hpp"
#include "raster/tile_source.hpp"
#include "raster/tileset.hpp"

namespace qinling::pipeline {

struct TilesOptions {
  std::string layer, out_dir;
  std::string zoom;  // "MIN-MAX" or "Z"; empty = automatic
  std::string matrix_sets = "WebMercatorQuad";  // CGCS2000Quad on request (--matrix-sets)
  std::string formats = "xyz,mbtiles,pmtiles";
  std::string ramp, range;  // ramp name or .yaml path; "MIN,MAX"
  std::string tile_format = "png";
  std::string hillshade;  // shaded relief raster blended into the ramp colours
  double hillshade_strength = 0.6;
  int threads = 0;
};

// "3-9" or "7" → zoom range; throws ConfigError naming `what`.
raster::ZoomRange parse_zoom(const std::string& text, const std::string& what);
// "MIN,MAX" → pair; throws ConfigError naming `what`.
std::pair<double, double> parse_range(const std::string& text, const std::string& what);
// Comma-separated list; empty items dropped.
std::vector<std::string> split_list(const std::string& text);

// "incremental: 12 tiles re-rendered (z9 1, z10 2, …), 80 unchanged kept", or "full render (why)";
// plus how many tiles came from an interrupted run's journal.
std::string describe_render(const raster::TilesetReport::Set& set);

int command_tiles(const TilesOptions& options, const CommonFlags& flags);

}  // namespace qinling::pipeline
