#include "pipeline/sensor_profile.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "models/errors.hpp"
#include "pipeline/diagnostics.hpp"
#include "pipeline/job_spec.hpp"

#ifndef QINLING_DEFAULT_CONFIG_DIR
#define QINLING_DEFAULT_CONFIG_DIR "configs"
#endif

namespace qinling::pipeline {
namespace fs = std::filesystem;

std::string config_dir() {
  if (const char* env = std::getenv("QINLING_CONFIG_DIR"); env != nullptr && *env) return env;
  return QINLING_DEFAULT_CONFIG_DIR;
}

models::QaMask SensorProfile::mask_for(const std::vector<std::string>& names, std::vector<std::string>& unknown) const {
  models::QaMask mask;
  for (const auto& n : names) {
    auto it = flags.find(n);
    if (it == flags.end()) {
      unknown.push_back(n);
      continue;
    }
    mask.merge(qa_encoding == "bits" ? models::QaMask::from_bits(it->second)
                                     : models::QaMask::from_classes(it->second));
  }
  return mask;
}

std::vector<std::string> sensor_profile_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(config_dir()) / "sensors", ec))
    if (e.path().extension() == ".yaml") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

std::string find_profile(const std::string& name_or_path, const std::string& base_dir) {
  const bool is_yaml = name_or_path.size() > 5 && name_or_path.substr(name_or_path.size() - 5) == ".yaml";
  if (name_or_path.find('/') != std::string::npos || is_yaml)
    return resolve_path(base_dir, name_or_path);
  const fs::path p = fs::path(config_dir()) / "sensors" / (name_or_path + ".yaml");
  if (fs::exists(p)) return p.string();
  std::string known;
  for (const auto& n : sensor_profile_names()) known += (known.empty() ? "" : ", ") + n;
  throw ConfigError("unknown sensor '" + name_or_path + "' (profiles: " + known + "; or give a path to a profile YAML)");
}

}  // namespace

SensorProfile load_sensor_profile(const std::string& name_or_path, const std::string& base_dir) {
  const std::string file = find_profile(name_or_path, base_dir);
  if (!fs::exists(file)) throw ConfigError(file + ": no such sensor profile");
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::Exception& e) {
    throw ConfigError(file + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg);
  }
  Diagnostics diag(file);
  SensorProfile p;
  p.file = file;
  MapReader r(root, "", diag);
  r.get("sensor", p.name, true);
  r.get("description", p.description, false);
  r.get("band_count", p.band_count, false);
  if (const YAML::Node bands = r.take("bands"); bands.IsMap()) {
    for (const auto& kv : bands) {
      const std::string name = kv.first.as<std::string>();
      MapReader b(kv.second, "bands." + name, diag);
      SensorBand sb;
      b.get("band", sb.band, false);
      b.get("scale", sb.scale, false);
      b.get("offset", sb.offset, false);
      b.get("resampling", sb.resampling, false);
      b.finish();
      p.bands[name] = sb;
    }
  } else {
    diag.error(root, "bands", "is required: a mapping of band name to {band, scale, offset}");
  }
  if (const YAML::Node qa = r.take("qa"); qa.IsDefined()) {
    MapReader q(qa, "qa", diag);
    q.get("band", p.qa_band, true);
    q.get("encoding", p.qa_encoding, true);
    if (!p.qa_encoding.empty() && p.qa_encoding != "bits" && p.qa_encoding != "classes")
      diag.error(qa["encoding"], "qa.encoding", "must be bits or classes");
    if (!p.qa_band.empty() && !p.bands.count(p.qa_band))
      diag.error(qa["band"], "qa.band", "'" + p.qa_band + "' is not one of the profile's bands");
    if (const YAML::Node flags = q.take("flags"); flags.IsMap()) {
      for (const auto& kv : flags) {
        try {
          p.flags[kv.first.as<std::string>()] = kv.second.as<std::vector<int>>();
        } catch (const YAML::Exception&) {
          diag.error(kv.second, "qa.flags." + kv.first.as<std::string>(), "expected a list of integers");
        }
      }
    } else {
      diag.error(qa, "qa.flags", "is required: mask name → list of bits or class values");
    }
    q.finish();
  }
  if (const YAML::Node tc = r.take("tasseled_cap"); tc.IsDefined()) {
    MapReader t(tc, "tasseled_cap", diag);
    t.get("source", p.tasseled_cap_source, true);
    for (const char* component : {"brightness", "greenness", "wetness"}) {
      const YAML::Node c = t.take(component);
      if (!c.IsDefined()) continue;
      const std::string kp = std::string("tasseled_cap.") + component;
      if (!c.IsMap() || c.size() == 0) {
        diag.error(c, kp, "expected band name → coefficient, e.g. {blue: 0.15, nir: 0.34}");
        continue;
      }
      for (const auto& kv : c) {
        const std::string band = kv.first.as<std::string>();
        double coef = 0;
        if (!YAML::convert<double>::decode(kv.second, coef)) diag.error(kv.second, kp + "." + band, "expected a number");
        else if (!p.bands.count(band)) diag.error(kv.first, kp + "." + band, "'" + band + "' is not one of the profile's bands");
        else p.tasseled_cap[component][band] = coef;
      }
    }
    t.finish();
  }
  r.finish();
  diag.throw_if_any();
  return p;
}

}  // namespace qinling::pipeline
