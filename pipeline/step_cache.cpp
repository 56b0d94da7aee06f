#include "pipeline/step_cache.hpp"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "pipeline/ramp_files.hpp"
#include "pipeline/run_record.hpp"
#include "pipeline/sensor_profile.hpp"

namespace qinling::pipeline {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Key order does not matter (json objects sort their keys); block or flow style does not either.
json canonical(const YAML::Node& n) {
  if (n.IsMap()) {
    json j = json::object();
    for (const auto& kv : n) j[kv.first.as<std::string>()] = canonical(kv.second);
    return j;
  }
  if (n.IsSequence()) {
    json j = json::array();
    for (const auto& v : n) j.push_back(canonical(v));
    return j;
  }
  if (n.IsScalar()) return n.Scalar();
  return nullptr;
}

void scalars(const YAML::Node& n, std::vector<std::string>& out) {
  if (n.IsScalar()) out.push_back(n.Scalar());
  else if (n.IsMap())
    for (const auto& kv : n) {
      const auto k = kv.first.as<std::string>();
      if (k != "id" && k != "kind") scalars(kv.second, out);
    }
  else if (n.IsSequence())
    for (const auto& v : n) scalars(v, out);
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

std::string sensor_file(const std::string& sensor, const std::string& base_dir) {
  const bool path_like = sensor.find('/') != std::string::npos || fs::path(sensor).extension() == ".yaml";
  if (path_like) return resolve_path(base_dir, sensor);
  return (fs::path(config_dir()) / "sensors" / (sensor + ".yaml")).string();
}

// Everything about an input that decides the values its bands have.
std::string input_identity(const Plan& plan, const InputSpec& in) {
  json j = {{"path", in.path}, {"resampling", in.resampling}, {"sensor", in.sensor}, {"mask", in.mask},
            {"select", in.select}, {"units", in.units}, {"calibrate", in.calibrate}};
  std::set<std::string> files;
  if (!in.path.empty()) files.insert(in.path);
  files.insert(in.scenes.begin(), in.scenes.end());  // a mosaic's scenes
  for (const auto& b : in.bands) {
    j["bands"].push_back({b.name, b.path, b.band});
    files.insert(b.path);
  }
  // A frame set (aerial photos): the files its patterns matched.
  if (auto fr = plan.frame_inputs.find(in.name); fr != plan.frame_inputs.end())
    files.insert(fr->second.begin(), fr->second.end());
  std::string s = "input " + in.name + " " + j.dump() + "\n";
  for (const auto& f : files) s += "  file " + file_identity(f) + "\n";
  if (!in.sensor.empty()) s += "  sensor " + file_identity(sensor_file(in.sensor, plan.job.base_dir)) + "\n";
  return s;
}

const InputSpec* input_of(const Plan& plan, const std::string& key_or_name) {
  const InputSpec* best = nullptr;
  for (const auto& in : plan.job.inputs)
    if (key_or_name == in.name || key_or_name.rfind(in.name + ".", 0) == 0)
      if (!best || in.name.size() > best->name.size()) best = &in;
  return best;
}

// Stands in for a cached pixel step that a recomputed product needs as a finished layer: copies
// the step's earlier output (read as band key "<id>@cached") so the runner writes it as a work layer.
class CachedLayerStep final : public Step {
 public:
  explicit CachedLayerStep(const std::string& step_id) { id = step_id; }
  void declare(OptionBinder&) override {}
  void validate(const ValidationContext&, Diagnostics&, int, const std::string&) override {}
  std::vector<std::string> needs() const override { return {id + "@cached"}; }
  void compute(const std::vector<const float*>& in, float* out, std::size_t n) const override {
    std::copy_n(in[0], n, out);
  }
};

}  // namespace

std::string file_identity(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return path + " missing";
  const auto mtime = fs::last_write_time(path, ec).time_since_epoch().count();
  return path + " " + std::to_string(size) + " " + std::to_string(mtime);
}

std::string content_checksum(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return sha256_file(path);
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(path, ec))
    if (e.is_regular_file()) files.push_back(fs::relative(e.path(), path).string());
  std::sort(files.begin(), files.end());
  std::string listing;
  for (const auto& f : files) listing += f + " " + sha256_file((fs::path(path) / f).string()) + "\n";
  return sha256_text(listing);
}

std::vector<std::string> referenced_files(const Plan& plan, const StepSpec& spec) {
  std::vector<std::string> values;
  scalars(spec.node, values);
  const std::string& base = plan.job.base_dir;
  std::vector<std::string> dirs;  // where names without a folder are looked up (ramps, shipped rules)
  for (const auto& d : ramp_search_dirs({base + "/ramps", base + "/../configs/ramps"})) dirs.push_back(d);
  dirs.push_back(config_dir());
  std::set<std::string> found;
  for (const auto& v : values) {
    if (v.empty() || v.find('\n') != std::string::npos) continue;
    if (const std::string p = resolve_path(base, v); is_file(p)) found.insert(fs::path(p).lexically_normal().string());
    for (const auto& d : dirs) {
      if (v.find('/') != std::string::npos && d != config_dir()) continue;
      for (const std::string& name : {v, v + ".yaml"})
        if (const fs::path p = fs::path(d) / name; is_file(p)) found.insert(p.lexically_normal().string());
    }
  }
  return {found.begin(), found.end()};
}

std::map<std::string, std::string> step_keys(const Plan& plan) {
  std::map<std::string, std::string> keys;
  std::string grid = "grid " + std::to_string(plan.grid.width) + "x" + std::to_string(plan.grid.height);
  for (double g : plan.grid.geotransform) grid += " " + json(g).dump();
  grid += " " + sha256_text(plan.grid.crs_wkt) + "\n";
  for (const auto& s : plan.steps) {
    const StepSpec* spec = nullptr;
    for (const auto& sp : plan.job.steps)
      if (sp.id == s->id) spec = &sp;
    std::string text = std::string("qinling ") + program_version() + "\n" + grid;
    if (spec != nullptr) {
      text += "step " + spec->kind + " " + canonical(spec->node).dump() + "\n";
      for (const auto& f : referenced_files(plan, *spec)) text += "references " + file_identity(f) + "\n";
      // Inputs named by an option (vector layers, a raster a product reads itself).
      std::vector<std::string> values;
      scalars(spec->node, values);
      std::set<std::string> named(values.begin(), values.end());
      for (const auto& in : plan.job.inputs)
        if (named.count(in.name)) text += input_identity(plan, in);
    }
    for (const auto& k : s->needs()) {
      if (keys.count(k)) {
        text += "needs step " + k + " " + keys.at(k) + "\n";
      } else if (const InputSpec* in = input_of(plan, k)) {
        text += "needs " + k + " " + input_identity(plan, *in);
        if (auto src = plan.band_sources.find(k); src != plan.band_sources.end())
          text += "  band " + src->second.path + " " + std::to_string(src->second.band) + " " +
                  json(src->second.scale).dump() + " " + json(src->second.offset).dump() + " " +
                  src->second.resampling + "\n";
      } else {
        text += "needs " + k + "\n";
      }
    }
    for (const auto& o : plan.outputs)
      if (o.step_id == s->id) text += "output " + o.path + " " + o.format + " " + json(o.options).dump() + "\n";
    keys[s->id] = sha256_text(text);
  }
  return keys;
}

std::vector<std::string> CacheDecisions::ids(const std::string& state) const {
  std::vector<std::string> out;
  for (const auto& s : steps)
    if (s.state == state) out.push_back(s.id);
  return out;
}

CacheDecisions apply_step_cache(Plan& plan, const StepCacheLookup& lookup, bool force) {
  CacheDecisions d;
  d.all_outputs = plan.outputs;
  const auto keys = step_keys(plan);
  std::map<std::string, StepDecision*> by_id;
  d.steps.reserve(plan.steps.size());
  for (const auto& s : plan.steps) {
    StepDecision sd;
    sd.id = s->id, sd.key = keys.at(s->id), sd.state = "unused";
    for (const auto& spec : plan.job.steps)
      if (spec.id == s->id) sd.kind = spec.kind;
    for (const auto& o : plan.outputs)
      if (o.step_id == s->id) sd.outputs.push_back(o.path);
    if (!force && !sd.outputs.empty())
      if (auto hit = lookup(sd.id, sd.key, sd.outputs)) {
        sd.state = "cached", sd.from_run = hit->run_id, sd.cached = std::move(hit->outputs);
      }
    if (sd.state != "cached" && !sd.outputs.empty()) sd.state = "computed", sd.rewrites_outputs = true;
    d.steps.push_back(std::move(sd));
  }
  for (auto& sd : d.steps) by_id[sd.id] = &sd;

  // What the computed steps read: uncomputed dependencies are computed too, except cached pixel
  // layers, which are read back from their files. Reverse dependency order visits consumers first.
  std::set<std::string> from_file_by_pixel, from_file_by_product;
  for (auto it = plan.steps.rbegin(); it != plan.steps.rend(); ++it) {
    if (by_id.at((*it)->id)->state != "computed") continue;
    for (const auto& k : (*it)->needs()) {
      auto dep = by_id.find(k);
      if (dep == by_id.end()) continue;
      const Step* ds = plan.step(k);
      if (dep->second->state == "cached" && ds->step_class() == StepClass::pixel) {
        ((*it)->step_class() == StepClass::pixel ? from_file_by_pixel : from_file_by_product).insert(k);
      } else if (dep->second->state != "computed") {
        dep->second->state = "computed";  // a product's in-memory result, or a fused intermediate layer
      }
    }
  }

  auto cached_file = [&](const std::string& id) {
    for (const auto& o : d.all_outputs)
      if (o.step_id == id && (o.format == "cog" || o.format == "gtiff")) return o.path;
    return std::string();
  };
  std::vector<std::unique_ptr<Step>> kept;
  for (auto& s : plan.steps) {
    const StepDecision& sd = *by_id.at(s->id);
    const bool by_product = from_file_by_product.count(s->id) != 0;
    if (by_product || from_file_by_pixel.count(s->id)) {
      const std::string path = cached_file(s->id);
      const std::string key = by_product ? s->id + "@cached" : s->id;
      plan.band_sources[key] = raster::BandSource(path, 1);
      if (!plan.files.count(path)) plan.files[path] = raster::describe_raster(path);
      plan.file_resampling[path] = "nearest";
      if (by_product) kept.push_back(std::make_unique<CachedLayerStep>(s->id));
    } else if (sd.state == "computed") {
      kept.push_back(std::move(s));
    }
  }
  plan.steps = std::move(kept);
  std::vector<PlannedOutput> outputs;
  for (auto& o : plan.outputs)
    if (by_id.at(o.step_id)->rewrites_outputs) outputs.push_back(o);
  plan.outputs = std::move(outputs);
  return d;
}

}  // namespace qinling::pipeline
