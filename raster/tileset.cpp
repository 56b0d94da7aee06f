#include "raster/tileset.hpp"

#include <algorithm>
#include <filesystem>
#include <memory>

#include "raster/pmtiles.hpp"
#include "raster/tile_writers.hpp"

namespace qinling::raster {

long long TilesetReport::tiles() const {
  long long n = 0;
  for (const auto& s : sets) n += s.tiles;
  return n;
}

TilesetReport build_tileset(const TilesetRequest& req) {
  if (req.xyz_dir.empty() && req.mbtiles_path.empty() && req.pmtiles_path.empty())
    throw ConfigError("tiles: no output asked for (xyz, mbtiles or pmtiles)");
  if (req.matrix_sets.empty()) throw ConfigError("tiles: no tile matrix set given");
  for (const auto& id : req.matrix_sets) tile_matrix_set(id);  // throws on unknown names
  const bool has_mercator =
      std::find(req.matrix_sets.begin(), req.matrix_sets.end(), "WebMercatorQuad") != req.matrix_sets.end();
  if ((!req.mbtiles_path.empty() || !req.pmtiles_path.empty()) && !has_mercator)
    throw ConfigError("tiles: MBTiles and PMTiles hold WebMercatorQuad tiles; add WebMercatorQuad to the matrix sets");
  if (req.zoom && (req.zoom->min < 0 || req.zoom->max > 24 || req.zoom->min > req.zoom->max))
    throw ConfigError("tiles: zoom range " + std::to_string(req.zoom->min) + "-" + std::to_string(req.zoom->max) +
                      " is not valid (0 <= min <= max <= 24)");

  if (!(req.hillshade_strength >= 0 && req.hillshade_strength <= 1))
    throw ConfigError("tiles: hillshade strength must be within 0..1");
  const TileSource src = describe_tile_source(req.source);
  std::optional<TileSource> shade;
  if (!req.hillshade.empty()) {
    if (src.kind != LayerKind::value)
      throw ConfigError(req.source + ": a hillshade blend needs a single-band layer drawn through a ramp");
    shade = describe_tile_source(req.hillshade);
    if (shade->kind != LayerKind::value)
      throw InputError(req.hillshade + ": a hillshade must be one band of shades 0..255 (e.g. gdaldem hillshade)");
  }
  TilesetReport report;
  report.kind = src.kind;
  std::unique_ptr<RampRenderer> renderer;
  if (src.kind == LayerKind::value) {
    const ColourRamp ramp = req.ramp ? *req.ramp : default_ramp();
    report.value_range = req.range ? *req.range : ramp.range ? *ramp.range : value_min_max(req.source);
    renderer = std::make_unique<RampRenderer>(ramp, report.value_range.first, report.value_range.second);
  }

  const std::string name = req.name.empty() ? std::filesystem::path(req.source).stem().string() : req.name;
  std::unique_ptr<AtomicFolder> folder;
  if (!req.xyz_dir.empty()) folder = std::make_unique<AtomicFolder>(req.xyz_dir);
  WmtsLayer layer;
  layer.id = layer.title = name;
  layer.format = req.format;
  if (renderer) layer.legend = make_legend(req.ramp ? *req.ramp : default_ramp(), *renderer);
  TilesetInfo mercator_info;

  for (const auto& id : req.matrix_sets) {
    const TileMatrixSet& tms = tile_matrix_set(id);
    const Footprint fp = footprint_in(src, tms);
    ZoomRange zoom = req.zoom ? *req.zoom : auto_zoom_range(fp, tms);
    zoom.min = std::max(zoom.min, tms.min_level);
    zoom.max = std::max(zoom.max, zoom.min);

    FanoutSink sinks;
    std::unique_ptr<XyzWriter> xyz;
    std::unique_ptr<MbtilesWriter> mbtiles;
    std::unique_ptr<PmtilesWriter> pmtiles;
    if (folder) sinks.add((xyz = std::make_unique<XyzWriter>(folder->staging() + "/" + id, req.format)).get());
    if (id == "WebMercatorQuad" && !req.mbtiles_path.empty())
      sinks.add((mbtiles = std::make_unique<MbtilesWriter>(req.mbtiles_path)).get());
    if (id == "WebMercatorQuad" && !req.pmtiles_path.empty())
      sinks.add((pmtiles = std::make_unique<PmtilesWriter>(req.pmtiles_path)).get());

    PyramidOptions opt;
    opt.tms = &tms;
    opt.zoom = zoom;
    opt.threads = req.threads;
    opt.ramp = renderer.get();
    opt.format = req.format;
    opt.shade = shade ? &*shade : nullptr;
    opt.shade_strength = req.hillshade_strength;
    const std::string phase = name + ": " + id + " tiles, zoom " + std::to_string(zoom.min) + "-" +
                              std::to_string(zoom.max);
    if (req.progress) opt.progress = [&](double f) { req.progress(phase, f); };
    const PyramidResult res = build_pyramid(src, fp, opt, sinks);

    TilesetInfo info;
    info.name = name;
    info.description = "qinling tiles of " + std::filesystem::path(req.source).filename().string();
    info.format = req.format;
    info.min_zoom = zoom.min;
    info.max_zoom = zoom.max;
    info.lonlat = fp.lonlat;
    if (mbtiles) mbtiles->commit(info);
    if (pmtiles) pmtiles->commit(info);
    if (id == "WebMercatorQuad") mercator_info = info;
    layer.lonlat = fp.lonlat;
    const std::string ext = tile_extension(req.format);
    layer.sets.push_back({&tms, res.ranges, "{TileMatrixSet}/{TileMatrix}/{TileCol}/{TileRow}." + ext});
    report.sets.push_back({id, zoom, res.tiles_written, res.tiles_empty});
  }

  if (folder) {
    const std::string dir = folder->staging();
    if (has_mercator)
      write_file_atomic(dir + "/tilejson.json",
                        tilejson(mercator_info, std::string("WebMercatorQuad/{z}/{x}/{y}.") + tile_extension(req.format)));
    write_file_atomic(dir + "/WMTSCapabilities.xml", wmts_capabilities({layer}, ""));
    write_file_atomic(dir + "/tileset.json", tileset_manifest(layer));
    folder->commit();
  }
  return report;
}

}  // namespace qinling::raster
