#include "pipeline/viewer_assets.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace qinling::pipeline {
namespace fs = std::filesystem;
namespace {

bool complete(const fs::path& dir) {
  std::error_code ec;
  for (const char* f : {"index.html", "viewer.js", "viewer.css", "ol.js", "ol.css"})
    if (!fs::is_regular_file(dir / f, ec)) return false;
  return true;
}

std::string hex(const raster::Rgba& c) {
  char b[16];
  std::snprintf(b, sizeof b, "#%02x%02x%02x%02x", c[0], c[1], c[2], c[3]);
  return b;
}

}  // namespace

std::optional<std::string> find_viewer_dir() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("QINLING_VIEWER_DIR"); env && *env) candidates.emplace_back(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path() / "viewer");
    candidates.push_back(exe.parent_path().parent_path() / "share/qinling/viewer");
  }
  for (const auto& c : candidates)
    if (complete(c)) return c.string();
  return std::nullopt;
}

const char* viewer_mime(const std::string& name) {
  const std::string ext = fs::path(name).extension().string();
  if (ext == ".js") return "text/javascript";
  if (ext == ".css") return "text/css";
  if (ext == ".html") return "text/html; charset=utf-8";
  return "application/octet-stream";
}

std::string layers_json(const std::vector<raster::WmtsLayer>& layers) {
  auto out = nlohmann::ordered_json::array();
  for (const auto& l : layers) {
    nlohmann::ordered_json j{{"id", l.id},
                             {"title", l.title},
                             {"format", raster::tile_extension(l.format)},
                             {"bounds", {l.lonlat.xmin, l.lonlat.ymin, l.lonlat.xmax, l.lonlat.ymax}}};
    auto sets = nlohmann::ordered_json::object();
    for (const auto& s : l.sets)
      if (!s.ranges.empty()) sets[s.tms->id] = {{"minzoom", s.ranges.front().z}, {"maxzoom", s.ranges.back().z}};
    j["matrix_sets"] = sets;
    j["legend"] = nullptr;
    if (l.legend) {
      auto entries = nlohmann::ordered_json::array();
      for (const auto& e : l.legend->entries)
        entries.push_back({{"value", e.value}, {"colour", hex(e.colour)}, {"label", e.label}});
      j["legend"] = {{"ramp", l.legend->ramp},
                     {"kind", l.legend->kind == raster::RampKind::categorical ? "categorical"
                              : l.legend->kind == raster::RampKind::diverging ? "diverging"
                                                                               : "continuous"},
                     {"entries", entries}};
    }
    out.push_back(std::move(j));
  }
  return out.dump(1);
}

}  // namespace qinling::pipeline
