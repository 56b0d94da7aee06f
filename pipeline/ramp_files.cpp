#include "pipeline/ramp_files.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "models/errors.hpp"
#include "pipeline/diagnostics.hpp"

namespace qinling::pipeline {
namespace fs = std::filesystem;
namespace {

std::string exe_dir() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.parent_path().string();
}

raster::Rgba colour_of(const YAML::Node& n, Diagnostics& diag, const std::string& kp) {
  const auto c = n.IsScalar() ? raster::parse_colour(n.as<std::string>()) : std::nullopt;
  if (!c) {
    diag.error(n, kp, "expected a colour \"#rrggbb\" or \"#rrggbbaa\"");
    return {0, 0, 0, 0};
  }
  return *c;
}

double number_of(const YAML::Node& n, Diagnostics& diag, const std::string& kp) {
  try {
    return n.as<double>();
  } catch (const YAML::Exception&) {
    diag.error(n, kp, "expected a number");
    return 0;
  }
}

}  // namespace

std::vector<std::string> ramp_search_dirs(const std::vector<std::string>& extra) {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("QINLING_RAMPS")) dirs.emplace_back(env);
  dirs.insert(dirs.end(), extra.begin(), extra.end());
  const std::string exe = exe_dir();
  if (!exe.empty())
    for (const char* rel : {"/../configs/ramps", "/../../configs/ramps", "/../share/qinling/ramps"})
      dirs.push_back(exe + rel);
#ifdef QINLING_DEFAULT_CONFIG_DIR
  dirs.push_back(std::string(QINLING_DEFAULT_CONFIG_DIR) + "/ramps");  // the source tree it was built from
#endif
  return dirs;
}

raster::ColourRamp parse_ramp_file(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw ConfigError(path + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg);
  }
  Diagnostics diag(path);
  if (!root.IsMap()) {
    diag.error(root, "", "a colour ramp file is a map with name, kind and stops or classes");
    diag.throw_if_any();
  }
  MapReader r(root, "", diag);
  raster::ColourRamp ramp;
  ramp.name = fs::path(path).stem().string();
  r.get("name", ramp.name, false);
  std::string kind = "continuous";
  r.get("kind", kind, false);
  if (kind == "continuous") ramp.kind = raster::RampKind::continuous;
  else if (kind == "diverging") ramp.kind = raster::RampKind::diverging;
  else if (kind == "categorical") ramp.kind = raster::RampKind::categorical;
  else diag.error(root["kind"], "kind", "unknown ramp kind '" + kind + "' (continuous, diverging, categorical)");
  r.get("center", ramp.center, false);
  r.get("description", kind, false);  // documentation only
  if (YAML::Node range = r.take("range")) {
    if (range.IsSequence() && range.size() == 2)
      ramp.range = {number_of(range[0], diag, "range[0]"), number_of(range[1], diag, "range[1]")};
    else
      diag.error(range, "range", "expected [min, max]");
  }
  if (YAML::Node stops = r.take("stops")) {
    for (std::size_t i = 0; i < stops.size(); ++i) {
      const std::string kp = "stops[" + std::to_string(i) + "]";
      const YAML::Node s = stops[i];
      if (!s.IsSequence() || s.size() != 2) {
        diag.error(s, kp, "expected [fraction 0..1, \"#rrggbb\"]");
        continue;
      }
      ramp.stops.push_back({number_of(s[0], diag, kp), colour_of(s[1], diag, kp)});
    }
    if (!std::is_sorted(ramp.stops.begin(), ramp.stops.end(), [](auto& a, auto& b) { return a.at < b.at; }))
      diag.error(stops, "stops", "stops must be in increasing order of position");
  }
  if (YAML::Node classes = r.take("classes")) {
    for (std::size_t i = 0; i < classes.size(); ++i) {
      const std::string kp = "classes[" + std::to_string(i) + "]";
      MapReader c(classes[i], kp, diag);
      raster::ColourClass cls;
      std::string colour;
      c.get("value", cls.value, true);
      c.get("label", cls.label, false);
      if (c.get("colour", colour, true)) cls.colour = colour_of(classes[i]["colour"], diag, kp + ".colour");
      c.finish();
      ramp.classes.push_back(cls);
    }
  }
  r.finish();
  if (ramp.kind == raster::RampKind::categorical && ramp.classes.empty())
    diag.error(root, "classes", "a categorical ramp needs classes: [{value, colour, label}]");
  if (ramp.kind != raster::RampKind::categorical && ramp.stops.size() < 2)
    diag.error(root, "stops", "a continuous or diverging ramp needs at least two stops");
  diag.throw_if_any();
  return ramp;
}

raster::ColourRamp load_ramp(const std::string& name, const std::vector<std::string>& dirs) {
  if (name.find('/') != std::string::npos || fs::path(name).extension() == ".yaml") {
    if (!fs::is_regular_file(name)) throw ConfigError("colour ramp file not found: " + name);
    return parse_ramp_file(name);
  }
  std::vector<std::string> known;
  for (const auto& d : dirs) {
    const fs::path f = fs::path(d) / (name + ".yaml");
    if (fs::is_regular_file(f)) return parse_ramp_file(f.lexically_normal().string());
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(d, ec))
      if (e.path().extension() == ".yaml") known.push_back(e.path().stem().string());
  }
  std::sort(known.begin(), known.end());
  known.erase(std::unique(known.begin(), known.end()), known.end());
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  throw ConfigError("unknown colour ramp '" + name + "' (available: " + (list.empty() ? "none found" : list) +
                    "); put NAME.yaml in configs/ramps/ or give a path to a .yaml file");
}

}  // namespace qinling::pipeline
