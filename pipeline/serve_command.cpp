#include "pipeline/serve_command.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "models/errors.hpp"
#include "pipeline/tile_router.hpp"
#include "pipeline/viewer_assets.hpp"
#include "raster/pmtiles.hpp"
#include "raster/tile_metadata.hpp"

namespace qinling::pipeline {
namespace fs = std::filesystem;
namespace {

// A layer found under DIR. Requests only ever reach files through this table and integer tile
// coordinates, so no part of a URL becomes a path: traversal attempts are simply unknown layers.
struct Layer {
  raster::WmtsLayer info;
  std::string folder;  // XYZ: the tileset folder
  std::unique_ptr<raster::MbtilesReader> mbtiles;
  std::unique_ptr<raster::PmtilesReader> pmtiles;

  std::optional<std::string> tile(const std::string& set, int z, int x, int y) const {
    if (mbtiles) return set == "WebMercatorQuad" ? mbtiles->get(z, x, y) : std::nullopt;
    if (pmtiles) return set == "WebMercatorQuad" ? pmtiles->get(z, x, y) : std::nullopt;
    for (const auto& s : info.sets)
      if (s.tms->id == set) {
        std::ifstream f(folder + "/" + set + "/" + std::to_string(z) + "/" + std::to_string(x) + "/" +
                            std::to_string(y) + "." + raster::tile_extension(info.format),
                        std::ios::binary);
        if (!f) return std::nullopt;
        std::ostringstream b;
        b << f.rdbuf();
        return b.str();
      }
    return std::nullopt;
  }
};

std::vector<raster::TileRange> ranges_for(const raster::BBox& lonlat, int zmin, int zmax) {
  // Web Mercator bounds of a lon/lat box (spherical formulas of EPSG:3857).
  const double a = 6378137.0, d = M_PI / 180;
  auto merc_y = [&](double lat) { return a * std::log(std::tan(M_PI / 4 + lat * d / 2)); };
  const raster::BBox m{a * lonlat.xmin * d, merc_y(lonlat.ymin), a * lonlat.xmax * d, merc_y(lonlat.ymax)};
  std::vector<raster::TileRange> r;
  for (int z = zmin; z <= zmax; ++z) r.push_back(raster::tile_range(raster::web_mercator_quad(), z, m));
  return r;
}

std::map<std::string, std::unique_ptr<Layer>> find_layers(const std::string& dir) {
  std::map<std::string, std::unique_ptr<Layer>> layers;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it.depth() > 2) it.disable_recursion_pending();
    const fs::path p = it->path();
    auto l = std::make_unique<Layer>();
    try {
      if (p.filename() == "tileset.json") {
        std::ifstream f(p);
        std::stringstream s;
        s << f.rdbuf();
        l->info = raster::parse_tileset_manifest(s.str(), p.string());
        l->folder = p.parent_path().string();
        l->info.id = p.parent_path().filename().string();
      } else if (p.extension() == ".mbtiles") {
        l->mbtiles = std::make_unique<raster::MbtilesReader>(p.string());
        const auto& m = l->mbtiles->metadata();
        l->info.id = p.filename().string();
        l->info.format = raster::parse_tile_format(m.count("format") ? m.at("format") : "png");
        std::sscanf(m.count("bounds") ? m.at("bounds").c_str() : "-180,-85,180,85", "%lf,%lf,%lf,%lf",
                    &l->info.lonlat.xmin, &l->info.lonlat.ymin, &l->info.lonlat.xmax, &l->info.lonlat.ymax);
        const int zmin = m.count("minzoom") ? std::stoi(m.at("minzoom")) : 0;
        const int zmax = m.count("maxzoom") ? std::stoi(m.at("maxzoom")) : zmin;
        l->info.sets.push_back({&raster::web_mercator_quad(), ranges_for(l->info.lonlat, zmin, zmax), ""});
      } else if (p.extension() == ".pmtiles") {
        l->pmtiles = std::make_unique<raster::PmtilesReader>(p.string());
        l->info.id = p.filename().string();
        l->info.format = l->pmtiles->format();
        l->info.lonlat = l->pmtiles->lonlat();
        l->info.sets.push_back({&raster::web_mercator_quad(),
                                ranges_for(l->info.lonlat, l->pmtiles->min_zoom(), l->pmtiles->max_zoom()), ""});
      } else {
        continue;
      }
    } catch (const Error& e) {
      spdlog::warn("skipping {}: {}", p.string(), e.what());
      continue;
    }
    if (l->info.title.empty()) l->info.title = l->info.id;
    if (layers.count(l->info.id)) {
      spdlog::warn("skipping {}: a layer named '{}' exists already", p.string(), l->info.id);
      continue;
    }
    layers[l->info.id] = std::move(l);
  }
  return layers;
}

std::string capabilities(const std::map<std::string, std::unique_ptr<Layer>>& layers, const std::string& base) {
  std::vector<raster::WmtsLayer> list;
  for (const auto& [id, l] : layers) {
    raster::WmtsLayer w = l->info;
    for (auto& s : w.sets)
      s.url_template = base + "/" + id + "/{TileMatrixSet}/{TileMatrix}/{TileCol}/{TileRow}." +
                       raster::tile_extension(w.format);
    list.push_back(std::move(w));
  }
  return raster::wmts_capabilities(list, base + "/wmts?");
}

std::optional<std::string> read_whole(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::ostringstream b;
  b << f.rdbuf();
  return b.str();
}

}  // namespace

int command_serve(const ServeOptions& o, const CommonFlags& flags) {
  if (!fs::is_directory(o.dir)) throw ConfigError(o.dir + ": not a folder (give the folder holding tiles)");
  const auto layers = find_layers(o.dir);
  if (layers.empty())
    throw InputError(o.dir + ": no tiles found (XYZ folders with tileset.json, .mbtiles or .pmtiles); make some with "
                             "`qinling tiles LAYER.tif " + o.dir + "`");
  httplib::Server svr;
  const int threads = std::max(1, o.threads);
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(std::size_t(threads)); };
  // Counters for /stats: a client (or a test) can see that a page really fetched tiles.
  std::atomic<long long> n_requests{0}, n_tiles{0}, n_tiles_missing{0};
  const auto viewer_dir = find_viewer_dir();
  std::vector<raster::WmtsLayer> layer_list;
  for (const auto& [id, l] : layers) layer_list.push_back(l->info);
  const std::string layer_list_json = layers_json(layer_list);
  auto base_of = [](const httplib::Request& req) { return "http://" + req.get_header_value("Host"); };
  auto send_tile = [&](httplib::Response& res, const std::string& layer, const std::string& set, int z, int x, int y) {
    auto it = layers.find(layer);
    if (it == layers.end()) return void(res.status = 404);
    const auto t = it->second->tile(set, z, x, y);
    if (!t) {
      ++n_tiles_missing;
      return void(res.status = 404);
    }
    ++n_tiles;
    res.set_content(*t, raster::tile_mime(it->second->info.format));
    res.set_header("Cache-Control", "max-age=3600");
  };
  auto send_tilejson = [&](const httplib::Request& req, httplib::Response& res, const std::string& layer) {
    auto it = layers.find(layer);
    if (it == layers.end()) return void(res.status = 404);
    const auto& l = it->second->info;
    raster::TilesetInfo info;
    info.name = l.id;
    info.format = l.format;
    info.lonlat = l.lonlat;
    for (const auto& s : l.sets)
      if (s.tms->id == "WebMercatorQuad" && !s.ranges.empty()) {
        info.min_zoom = s.ranges.front().z;
        info.max_zoom = s.ranges.back().z;
      }
    res.set_content(raster::tilejson(info, base_of(req) + "/" + l.id + "/{z}/{x}/{y}." + raster::tile_extension(l.format)),
                    "application/json");
  };
  auto send_asset = [&](httplib::Response& res, const std::string& name) {
    const auto body = viewer_dir ? read_whole(*viewer_dir + "/" + name) : std::nullopt;
    if (!body) return void(res.status = 404);
    res.set_content(*body, viewer_mime(name));
  };
  auto send_index = [&](const httplib::Request& req, httplib::Response& res) {
    if (viewer_dir) {
      if (const auto page = read_whole(*viewer_dir + "/index.html")) return res.set_content(*page, viewer_mime("index.html"));
    }
    std::string html = "<!doctype html><title>qinling tiles</title><h1>qinling tiles</h1><p>The map viewer is not "
                       "available: its files (OpenLayers, bundled at build time with npm) were not found next to the "
                       "qinling binary; rebuild with npm installed or set QINLING_VIEWER_DIR.</p><p>WMTS: <a href=\"" +
                       base_of(req) + "/wmts/1.0.0/WMTSCapabilities.xml\">WMTSCapabilities.xml</a></p><ul>";
    for (const auto& [id, l] : layers)
      html += "<li>" + id + ": <a href=\"" + id + "/tilejson.json\">TileJSON</a>, XYZ " + base_of(req) + "/" + id +
              "/{z}/{x}/{y}." + raster::tile_extension(l->info.format) + "</li>";
    res.set_content(html + "</ul>", "text/html");
  };
  // Every request goes through route_tile_request (pipeline/tile_router.hpp, fuzzed), before and
  // instead of httplib's std::regex routing, whose recursion depth grows with the URL length.
  svr.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "GET" && req.method != "HEAD") {
      res.status = 405;
      return httplib::Server::HandlerResponse::Handled;
    }
    ++n_requests;
    const TileRoute r = route_tile_request(req.path, req.params);
    switch (r.kind) {
      case TileRoute::Kind::index: send_index(req, res); break;
      case TileRoute::Kind::capabilities: res.set_content(capabilities(layers, base_of(req)), "application/xml"); break;
      case TileRoute::Kind::tilejson: send_tilejson(req, res, r.layer); break;
      case TileRoute::Kind::tile: send_tile(res, r.layer, r.matrix_set, r.z, r.x, r.y); break;
      case TileRoute::Kind::viewer_asset: send_asset(res, r.asset); break;
      case TileRoute::Kind::layers: res.set_content(layer_list_json, "application/json"); break;
      case TileRoute::Kind::stats:
        res.set_content("{\"requests\": " + std::to_string(n_requests.load()) + ", \"tiles\": " +
                            std::to_string(n_tiles.load()) + ", \"tiles_not_found\": " +
                            std::to_string(n_tiles_missing.load()) + "}\n",
                        "application/json");
        break;
      case TileRoute::Kind::bad_request: res.status = 400; break;
      case TileRoute::Kind::not_found: res.status = 404; break;
    }
    return httplib::Server::HandlerResponse::Handled;
  });

  if (!svr.bind_to_port(o.host.c_str(), o.port))
    throw ConfigError("cannot listen on " + o.host + ":" + std::to_string(o.port) + " (in use? try --port)");
  if (!flags.quiet) {
    std::printf("serving %zu layer(s) from %s at http://%s:%d/\n", layers.size(), o.dir.c_str(), o.host.c_str(), o.port);
    for (const auto& [id, l] : layers)
      std::printf("  %s: http://%s:%d/%s/{z}/{x}/{y}.%s\n", id.c_str(), o.host.c_str(), o.port, id.c_str(),
                  raster::tile_extension(l->info.format));
    if (viewer_dir)
      std::printf("viewer: http://%s:%d/ (a map with a layer switcher and legends)\n", o.host.c_str(), o.port);
    else
      std::printf("viewer: not available (no OpenLayers bundle found; the build had no npm)\n");
    std::printf("WMTS (QGIS: Layer > Add WMS/WMTS Layer): http://%s:%d/wmts/1.0.0/WMTSCapabilities.xml\n", o.host.c_str(),
                o.port);
    std::fflush(stdout);
  }
  if (!svr.listen_after_bind()) throw ProcessingError("the tile server stopped unexpectedly");
  return 0;
}

}  // namespace qinling::pipeline
