#include "pipeline/tiles_command.hpp"

#include <cpl_conv.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <thread>

#include "models/errors.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/ramp_files.hpp"
#include "raster/gdal_io.hpp"
#include "raster/tileset.hpp"

namespace qinling::pipeline {
namespace fs = std::filesystem;

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  std::string item;
  while (std::getline(s, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

raster::ZoomRange parse_zoom(const std::string& text, const std::string& what) {
  int a = 0, b = 0;
  char dash = 0, extra = 0;
  const int n = std::sscanf(text.c_str(), "%d %c %d %c", &a, &dash, &b, &extra);
  if (n == 1) b = a;
  else if (n != 3 || dash != '-') throw ConfigError(what + ": expected MIN-MAX (e.g. 5-12) or one level, got '" + text + "'");
  if (a < 0 || b > 24 || a > b) throw ConfigError(what + ": zoom levels must satisfy 0 <= MIN <= MAX <= 24, got '" + text + "'");
  return {a, b};
}

std::pair<double, double> parse_range(const std::string& text, const std::string& what) {
  double a = 0, b = 0;
  char comma = 0, extra = 0;
  if (std::sscanf(text.c_str(), "%lf %c %lf %c", &a, &comma, &b, &extra) != 3 || comma != ',' || !(b > a))
    throw ConfigError(what + ": expected MIN,MAX with MIN < MAX (e.g. -0.2,0.9), got '" + text + "'");
  return {a, b};
}

std::string describe_render(const raster::TilesetReport::Set& s) {
  const std::string resumed =
      s.resumed ? "; " + std::to_string(s.resumed) + " tiles taken from the interrupted run's journal" : "";
  if (s.render != "incremental") return "full render (" + s.render + ")" + resumed;
  std::string per_zoom;  // how many tiles had changed pixels and were drawn again, per zoom
  for (std::size_t i = 0; i < s.drawn_per_zoom.size(); ++i)
    per_zoom += (i ? ", z" : "z") + std::to_string(s.zoom.min + int(i)) + " " + std::to_string(s.drawn_per_zoom[i]);
  return "incremental: " + std::to_string(s.drawn) + " tiles re-rendered (" + per_zoom + "), " +
         std::to_string(s.kept) + " unchanged kept" + resumed;
}

int command_tiles(const TilesOptions& o, const CommonFlags& flags) {
  raster::init_gdal();
  Progress::install_interrupt_handler();
  // Tiling reads each source block about once; a small block cache keeps memory bounded.
  GDALSetCacheMax64(256 << 20);

  raster::TilesetRequest req;
  req.source = o.layer;
  req.name = fs::path(o.layer).stem().string();
  req.matrix_sets = split_list(o.matrix_sets);
  if (!o.zoom.empty()) req.zoom = parse_zoom(o.zoom, "--zoom");
  if (!o.range.empty()) req.range = parse_range(o.range, "--range");
  if (!o.ramp.empty()) req.ramp = load_ramp(o.ramp, ramp_search_dirs({}));
  req.format = raster::parse_tile_format(o.tile_format);
  req.hillshade = o.hillshade;
  req.hillshade_strength = o.hillshade_strength;
  req.threads = o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  for (const auto& f : split_list(o.formats)) {
    if (f == "xyz") req.xyz_dir = (fs::path(o.out_dir) / req.name).string();
    else if (f == "mbtiles") req.mbtiles_path = (fs::path(o.out_dir) / (req.name + ".mbtiles")).string();
    else if (f == "pmtiles") req.pmtiles_path = (fs::path(o.out_dir) / (req.name + ".pmtiles")).string();
    else throw ConfigError("--formats: unknown format '" + f + "' (use xyz, mbtiles, pmtiles)");
  }
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (ec) throw ConfigError(o.out_dir + ": cannot create the output folder: " + ec.message());

  Progress progress(Progress::detect(flags.quiet));
  std::string phase;
  req.progress = [&](const std::string& label, double f) {
    if (label != phase) {
      if (!phase.empty()) progress.done();
      progress.phase(label);
      phase = label;
    }
    progress.update(f);
  };
  const auto t0 = std::chrono::steady_clock::now();
  const raster::TilesetReport rep = raster::build_tileset(req);
  if (!phase.empty()) progress.done();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!flags.quiet) {
    std::printf("%s: %lld tiles in %.1f s (%.0f tiles/s)%s\n", o.layer.c_str(), rep.tiles(), secs, rep.tiles() / secs,
                rep.kind == raster::LayerKind::value ? "" : ", RGB(A) image tiled as it is");
    if (rep.kind == raster::LayerKind::value)
      std::printf("  values %g..%g drawn with ramp '%s'\n", rep.value_range.first, rep.value_range.second,
                  req.ramp ? req.ramp->name.c_str() : "default");
    for (const auto& s : rep.sets) {
      std::printf("  %-16s zoom %d-%d: %lld tiles (%lld empty skipped)\n", s.id.c_str(), s.zoom.min, s.zoom.max, s.tiles,
                  s.empty);
      std::printf("    %s\n", describe_render(s).c_str());
    }
    if (!req.xyz_dir.empty())
      std::printf("  wrote %s/{%s}/{z}/{x}/{y}.%s, tilejson.json, WMTSCapabilities.xml\n", req.xyz_dir.c_str(),
                  o.matrix_sets.c_str(), raster::tile_extension(req.format));
    if (!req.mbtiles_path.empty()) std::printf("  wrote %s\n", req.mbtiles_path.c_str());
    if (!req.pmtiles_path.empty()) std::printf("  wrote %s\n", req.pmtiles_path.c_str());
    std::printf("Serve them: qinling serve %s (then add the WMTS or XYZ URL it prints in QGIS)\n", o.out_dir.c_str());
  }
  return 0;
}

}  // namespace qinling::pipeline
