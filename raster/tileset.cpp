#include "raster/tileset.hpp"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <sstream>

#include "raster/pmtiles.hpp"
#include "raster/tile_journal.hpp"
#include "raster/tile_manifest.hpp"
#include "raster/tile_writers.hpp"

namespace qinling::raster {
namespace {
namespace fs = std::filesystem;

// Bump when the same pixels and settings would give other tile bytes (drawing, encoding changes).
constexpr int kRenderVersion = 1;

std::string manifest_path(const TilesetRequest& req) {
  if (!req.xyz_dir.empty()) return (fs::path(req.xyz_dir) / ".qinling-tiles").string();
  const fs::path p(req.mbtiles_path.empty() ? req.pmtiles_path : req.mbtiles_path);
  return (p.parent_path() / ("." + p.filename().string() + ".qinling-tiles")).string();
}

// Beside the first output (never inside the XYZ folder, which is replaced at the end).
std::string journal_path(const TilesetRequest& req) {
  fs::path p = fs::absolute(!req.xyz_dir.empty()       ? req.xyz_dir
                            : !req.mbtiles_path.empty() ? req.mbtiles_path
                                                        : req.pmtiles_path)
                   .lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return (p.parent_path() / ("." + p.filename().string() + ".qinling-journal")).string();
}

// Everything besides the pixels that decides tile bytes (the journal's settings)...
std::string common_settings(const TilesetRequest& req, const TilesetReport& rep) {
  std::ostringstream s;
  s.precision(17);
  s << "version=" << kRenderVersion << ";format=" << tile_extension(req.format) << ";kind=" << int(rep.kind);
  if (rep.kind == LayerKind::value)
    s << ";range=" << rep.value_range.first << ',' << rep.value_range.second
      << ";ramp=" << ramp_fingerprint(req.ramp ? *req.ramp : default_ramp());
  if (!req.hillshade.empty()) s << ";shade=" << req.hillshade_strength;
  return s.str();
}

// ...and of a whole set (the manifest's settings).
std::string render_settings(const TilesetRequest& req, const TilesetReport& rep, const std::string& set,
                            const ZoomRange& zoom) {
  return common_settings(req, rep) + ";set=" + set + ";zoom=" + std::to_string(zoom.min) + "-" + std::to_string(zoom.max);
}

template <typename F>
std::string token_or_empty(F read) {
  try {
    return read();
  } catch (const std::exception&) {
    return {};  // unreadable: not the previous render
  }
}

// Why a set cannot be re-rendered incrementally, or "" when it can: every output it goes to must
// hold exactly the render the manifest describes.
std::string full_render_reason(const TilesetRequest& req, const std::optional<TileManifest>& old, const std::string& id,
                               const std::string& settings) {
  if (!old) return "no previous render";
  auto it = old->sets.find(id);
  if (it == old->sets.end()) return "no previous render of " + id;
  if (it->second.settings != settings) return "render settings changed";
  if (!req.xyz_dir.empty() && !fs::is_directory(fs::path(req.xyz_dir) / id)) return "no previous XYZ folder";
  if (id != "WebMercatorQuad") return {};
  const std::string token = render_token(it->second);
  if (!req.mbtiles_path.empty() &&
      token_or_empty([&] { return MbtilesReader(req.mbtiles_path).metadata().at("qinling_render"); }) != token)
    return "the MBTiles file is not the previous render";
  if (!req.pmtiles_path.empty() && token_or_empty([&] { return PmtilesReader(req.pmtiles_path).render_token(); }) != token)
    return "the PMTiles file is not the previous render";
  return {};
}

ZoomRange zoom_range(const TilesetRequest& req, const Footprint& fp, const TileMatrixSet& tms) {
  ZoomRange zoom = req.zoom ? *req.zoom : auto_zoom_range(fp, tms);
  zoom.min = std::max(zoom.min, tms.min_level);
  zoom.max = std::max(zoom.max, zoom.min);
  return zoom;
}

// One part file per matrix set: part 0 may still read one set's parts while the others write the next.
PyramidSplit split_of(const TilesetRequest& req, const std::string& set) {
  PyramidSplit sp = req.split;
  if (sp.parts > 1) sp.part_path = [path = req.split.part_path, set](int p) { return path(p) + "-" + set; };
  return sp;
}

class NoSink final : public TileSink {
 public:
  void put(int, int, int, const std::string&) override {}
};

// A part other than 0 of a split run: renders its share of every set's pyramid into part files.
TilesetReport render_share(const TilesetRequest& req, const TileSource& src, const TileSource* shade,
                           const RampRenderer* renderer, TilesetReport& report) {
  for (const auto& id : req.matrix_sets) {
    const TileMatrixSet& tms = tile_matrix_set(id);
    const Footprint fp = footprint_in(src, tms);
    PyramidOptions opt;
    opt.tms = &tms;
    opt.zoom = zoom_range(req, fp, tms);
    opt.threads = req.threads;
    opt.ramp = renderer;
    opt.format = req.format;
    opt.shade = shade;
    opt.shade_strength = req.hillshade_strength;
    opt.split = split_of(req, id);
    NoSink none;
    const PyramidResult res = build_pyramid(src, fp, opt, none);
    TilesetReport::Set set;
    set.id = id;
    set.zoom = opt.zoom;
    set.drawn_per_zoom = res.drawn;
    report.sets.push_back(std::move(set));
  }
  return report;
}

}  // namespace

long long TilesetReport::tiles() const {
  long long n = 0;
  for (const auto& s : sets) n += s.tiles;
  return n;
}

TilesetReport build_tileset(const TilesetRequest& req) {
  const bool helper = req.split.parts > 1 && req.split.part != 0;
  if (!helper && req.xyz_dir.empty() && req.mbtiles_path.empty() && req.pmtiles_path.empty())
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

  if (helper) return render_share(req, src, shade ? &*shade : nullptr, renderer.get(), report);

  const std::string name = req.name.empty() ? std::filesystem::path(req.source).stem().string() : req.name;
  std::unique_ptr<AtomicFolder> folder;
  if (!req.xyz_dir.empty()) folder = std::make_unique<AtomicFolder>(req.xyz_dir);
  WmtsLayer layer;
  layer.id = layer.title = name;
  layer.format = req.format;
  if (renderer) layer.legend = make_legend(req.ramp ? *req.ramp : default_ramp(), *renderer);
  TilesetInfo mercator_info;

  for (const std::string& out : {req.xyz_dir, req.mbtiles_path, req.pmtiles_path})
    if (!out.empty()) remove_stale_partials(out);
  const std::string manifest_file = manifest_path(req);
  if (req.xyz_dir.empty()) remove_stale_partials(manifest_file);
  const std::optional<TileManifest> old = read_tile_manifest(manifest_file);
  TileManifest manifest;
  TileJournal journal(journal_path(req), common_settings(req, report));

  for (const auto& id : req.matrix_sets) {
    const TileMatrixSet& tms = tile_matrix_set(id);
    const Footprint fp = footprint_in(src, tms);
    const ZoomRange zoom = zoom_range(req, fp, tms);
    const std::string settings = render_settings(req, report, id, zoom);
    const std::string why_full = full_render_reason(req, old, id, settings);
    const bool incremental = why_full.empty();

    FanoutSink sinks;
    std::unique_ptr<XyzWriter> xyz;
    std::unique_ptr<MbtilesWriter> mbtiles;
    std::unique_ptr<PmtilesWriter> pmtiles;
    if (folder)
      sinks.add((xyz = std::make_unique<XyzWriter>(folder->staging() + "/" + id, req.format,
                                                   incremental ? (fs::path(req.xyz_dir) / id).string() : ""))
                    .get());
    if (id == "WebMercatorQuad" && !req.mbtiles_path.empty())
      sinks.add((mbtiles = std::make_unique<MbtilesWriter>(req.mbtiles_path, incremental)).get());
    if (id == "WebMercatorQuad" && !req.pmtiles_path.empty())
      sinks.add((pmtiles = std::make_unique<PmtilesWriter>(req.pmtiles_path, incremental ? req.pmtiles_path : "")).get());

    PyramidOptions opt;
    opt.tms = &tms;
    opt.zoom = zoom;
    opt.threads = req.threads;
    opt.ramp = renderer.get();
    opt.format = req.format;
    opt.shade = shade ? &*shade : nullptr;
    opt.shade_strength = req.hillshade_strength;
    opt.previous = incremental ? &old->sets.at(id).hashes : nullptr;
    opt.journal = &journal;
    opt.split = split_of(req, id);
    const std::string phase = name + ": " + id + " tiles, zoom " + std::to_string(zoom.min) + "-" +
                              std::to_string(zoom.max) + (incremental ? " (changed tiles only)" : "");
    if (req.progress) opt.progress = [&](double f) { req.progress(phase, f); };
    PyramidResult res = build_pyramid(src, fp, opt, sinks);
    TileManifest::Set& rendered = manifest.sets[id];
    rendered.settings = settings;
    rendered.hashes = std::move(res.hashes);

    TilesetInfo info;
    info.name = name;
    info.description = "qinling tiles of " + std::filesystem::path(req.source).filename().string();
    info.format = req.format;
    info.min_zoom = zoom.min;
    info.max_zoom = zoom.max;
    info.lonlat = fp.lonlat;
    info.render_token = render_token(rendered);
    if (mbtiles) mbtiles->commit(info);
    if (pmtiles) pmtiles->commit(info);
    if (id == "WebMercatorQuad") mercator_info = info;
    layer.lonlat = fp.lonlat;
    const std::string ext = tile_extension(req.format);
    layer.sets.push_back({&tms, res.ranges, "{TileMatrixSet}/{TileMatrix}/{TileCol}/{TileRow}." + ext});
    TilesetReport::Set set;
    set.id = id;
    set.zoom = zoom;
    set.tiles = res.tiles_written;
    set.empty = res.tiles_empty;
    set.kept = res.tiles_kept;
    set.resumed = res.tiles_resumed;
    set.drawn = res.tiles_written - res.tiles_kept - res.tiles_resumed;
    set.drawn_per_zoom = res.drawn;
    set.render = incremental ? "incremental" : why_full;
    set.rendered_per_part = std::move(res.rendered_per_part);
    report.sets.push_back(std::move(set));
  }

  if (folder) {
    const std::string dir = folder->staging();
    if (has_mercator)
      write_file_atomic(dir + "/tilejson.json",
                        tilejson(mercator_info, std::string("WebMercatorQuad/{z}/{x}/{y}.") + tile_extension(req.format)));
    write_file_atomic(dir + "/WMTSCapabilities.xml", wmts_capabilities({layer}, ""));
    write_file_atomic(dir + "/tileset.json", tileset_manifest(layer));
    write_tile_manifest(dir + "/.qinling-tiles", manifest);
    folder->commit();
  } else {
    write_tile_manifest(manifest_file, manifest);
  }
  journal.remove();
  return report;
}

}  // namespace qinling::raster
