#include "pipeline/job_spec.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "models/errors.hpp"
#include "pipeline/utf8.hpp"
#include "raster/source.hpp"

namespace qinling::pipeline {
namespace fs = std::filesystem;

std::string resolve_path(const std::string& base, const std::string& p) {
  if (p.empty() || p.rfind("/vsi", 0) == 0 || p.find(':') != std::string::npos) return p;
  fs::path path(p);
  if (path.is_relative()) path = fs::path(base) / path;
  return path.lexically_normal().string();
}

bool is_glob(const std::string& p) { return p.find_first_of("*?[") != std::string::npos; }

namespace {

void parse_bands(const YAML::Node& node, const std::string& key_path, const std::string& base, InputSpec& in,
                 Diagnostics& diag) {
  if (!node.IsMap()) {
    diag.error(node, key_path, "expected a mapping of band name to band number or file, e.g. {red: 4, nir: 5}");
    return;
  }
  for (const auto& kv : node) {
    BandSpec b;
    b.name = kv.first.as<std::string>();
    b.line = line_of(kv.first);
    const std::string kp = key_path + "." + b.name;
    const YAML::Node& v = kv.second;
    if (v.IsScalar()) {
      int index = 0;
      if (YAML::convert<int>::decode(v, index)) {
        if (in.path.empty()) diag.error(v, kp, "a band number needs the input's `path`; or give a file name");
        if (index < 1) diag.error(v, kp, "band numbers start at 1");
        b.path = in.path;
        b.band = index;
      } else {
        b.path = resolve_path(base, v.as<std::string>());
      }
    } else if (v.IsMap()) {
      MapReader r(v, kp, diag);
      std::string p;
      if (r.get("path", p, false)) b.path = resolve_path(base, p);
      else b.path = in.path;
      r.get("band", b.band, false);
      r.finish();
      if (b.path.empty()) diag.error(v, kp, "needs a `path` (or the input's `path`)");
    } else {
      diag.error(v, kp, "expected a band number, a file name or {path, band}");
      continue;
    }
    in.bands.push_back(std::move(b));
  }
}

// `scenes:` and `mosaic:` of a mosaic input. Band numbers under `bands:` are parsed against the
// first scene (in.path is set to it until the input is complete).
void parse_scenes(MapReader& r, const std::string& kp, const std::string& base, InputSpec& in, Diagnostics& diag) {
  if (const YAML::Node sn = r.take("scenes"); sn.IsDefined()) {
    if (!sn.IsSequence() || sn.size() == 0) {
      diag.error(sn, kp + ".scenes", "expected a list of scene files in priority order, e.g. [LC09_a.tif, LC08_b.tif]");
    } else {
      for (const auto& e : sn) {
        if (e.IsScalar() && !e.Scalar().empty()) in.scenes.push_back(resolve_path(base, e.Scalar()));
        else diag.error(e, kp + ".scenes", "expected a file name in the list of scenes");
      }
    }
    if (!in.path.empty() || !in.frame_patterns.empty())
      diag.error(sn, kp + ".scenes", "give either `path` or `scenes`, not both");
    else if (!in.scenes.empty())
      in.path = in.scenes.front();
  }
  const bool has_mosaic = r.has("mosaic");
  r.get("mosaic", in.mosaic, false);
  if (has_mosaic && in.scenes.empty())
    diag.error(r.node()["mosaic"], kp + ".mosaic", "needs a list of files under `scenes:`");
  if (!in.scenes.empty() && in.mosaic.empty()) in.mosaic = "first_valid";
  if (has_mosaic && in.mosaic != "first_valid" && in.mosaic != "best_quality")
    diag.error(r.node()["mosaic"], kp + ".mosaic", "unknown rule '" + in.mosaic + "' (first_valid or best_quality)");
}

void parse_inputs(const YAML::Node& node, const std::string& base, JobSpec& job, Diagnostics& diag) {
  if (!node.IsMap()) {
    diag.error(node, "inputs", "expected a mapping of input name to {path, bands}");
    return;
  }
  for (const auto& kv : node) {
    InputSpec in;
    in.name = kv.first.as<std::string>();
    in.line = line_of(kv.first);
    const std::string kp = "inputs." + in.name;
    MapReader r(kv.second, kp, diag);
    std::string p;
    const YAML::Node pn = r.ok() ? r.node()["path"] : YAML::Node();
    if (pn.IsDefined() && (pn.IsSequence() || (pn.IsScalar() && is_glob(pn.Scalar())))) {
      // A frame set (aerial photos): a glob or a list of files/globs.
      for (const auto& e : pn.IsSequence() ? pn : YAML::Node(std::vector<std::string>{pn.Scalar()})) {
        if (e.IsScalar() && !e.Scalar().empty()) in.frame_patterns.push_back(resolve_path(base, e.Scalar()));
        else diag.error(pn, kp + ".path", "expected a file name or a glob in the list of frames");
      }
      if (in.frame_patterns.empty()) diag.error(pn, kp + ".path", "the list of frames is empty");
      r.take("path");
    } else if (r.get("path", p, false)) {
      in.path = resolve_path(base, p);
    }
    parse_scenes(r, kp, base, in, diag);
    r.get("resampling", in.resampling, false);
    r.get("sensor", in.sensor, false);
    in.sensor_line = line_of(r.node()["sensor"]);
    r.get("mask", in.mask, false);
    in.mask_line = line_of(r.node()["mask"]);
    if (!in.mask.empty() && in.sensor.empty())
      diag.error(in.mask_line, kp + ".mask", "masking needs a `sensor:` profile that describes the quality band");
    const auto& methods = raster::resampling_methods();
    if (std::find(methods.begin(), methods.end(), in.resampling) == methods.end())
      diag.error(r.node()["resampling"], kp + ".resampling", "unknown method '" + in.resampling + "'");
    r.get("units", in.units, false);
    r.get("calibrate", in.calibrate, false);
    if (in.calibrate && !r.has("select"))
      diag.error(r.node()["calibrate"], kp + ".calibrate", "calibration needs `select: {variable: NOMChannelNN}`");
    if (const YAML::Node sel = r.take("select"); sel.IsDefined()) {
      in.select_line = line_of(sel);
      if (!sel.IsMap() || sel.size() == 0)
        diag.error(sel, kp + ".select", "expected criteria, e.g. {element: TMP, level: 2-HTGL, valid: 2026-07-01T12:00Z}");
      else
        for (const auto& c : sel) {
          std::string v;  // a list (period: [6h, 12h]) is kept as "6h,12h"
          if (c.second.IsSequence())
            for (const auto& e : c.second) v += (v.empty() ? "" : ",") + e.as<std::string>();
          else
            v = c.second.as<std::string>();
          in.select[c.first.as<std::string>()] = v;
        }
      if (in.path.empty()) diag.error(sel, kp + ".select", "needs the input's `path`");
      if (r.has("bands")) diag.error(sel, kp + ".select", "give either `select` or `bands`, not both");
    } else if (!in.units.empty()) {
      diag.error(r.node()["units"], kp + ".units", "unit conversion needs `select:` (the band's units come from its metadata)");
    }
    const YAML::Node bands = r.take("bands");
    if (bands.IsDefined()) parse_bands(bands, kp + ".bands", base, in, diag);
    else if (in.path.empty() && in.frame_patterns.empty() && in.scenes.empty() && r.ok())
      diag.error(kv.second, kp, "needs a `path` or `bands`");
    if (const YAML::Node extra = r.take("extra_bands"); extra.IsDefined()) {
      if (!in.scenes.empty())
        diag.error(extra, kp + ".extra_bands", "is not supported with `scenes:` (each scene is one stack)");
      InputSpec tmp;
      tmp.path = in.path;
      parse_bands(extra, kp + ".extra_bands", base, tmp, diag);
      for (auto& b : tmp.bands) in.extra_bands.push_back(std::move(b));
    }
    r.finish();
    if (!in.scenes.empty()) {
      // Band numbers were parsed against the first scene; each hidden scene reads its own file.
      for (const auto& b : in.bands)
        if (b.path != in.path)
          diag.error(b.line, kp + ".bands." + b.name,
                     "with `scenes:` a band is a band number of every scene, e.g. {red: 4}");
      in.path.clear();
    }
    const InputSpec parent = in;
    job.inputs.push_back(std::move(in));
    for (std::size_t i = 0; i < parent.scenes.size(); ++i) {
      InputSpec scene = parent;
      scene.name = parent.name + "[" + std::to_string(i) + "]";
      scene.path = parent.scenes[i];
      for (auto& b : scene.bands) b.path = scene.path;
      scene.scenes.clear();
      scene.mosaic.clear();
      scene.scene_of = parent.name;
      job.inputs.push_back(std::move(scene));
    }
  }
}

void parse_grid(const YAML::Node& node, JobSpec& job, Diagnostics& diag) {
  MapReader r(node, "grid", diag);
  GridSpec g;
  g.line = line_of(node);
  r.get("crs", g.crs, false);
  r.get("resolution", g.resolution, false);
  if (r.has("resolution") && !(g.resolution > 0)) diag.error(r.node()["resolution"], "grid.resolution", "must be > 0");
  const YAML::Node e = r.take("extent");
  if (e.IsDefined()) {
    try {
      const auto v = e.as<std::vector<double>>();
      if (v.size() != 4 || !(v[0] < v[2]) || !(v[1] < v[3])) throw YAML::Exception(e.Mark(), "");
      g.extent = raster::BBox{v[0], v[1], v[2], v[3]};
    } catch (const YAML::Exception&) {
      diag.error(e, "grid.extent", "expected [xmin, ymin, xmax, ymax] with xmin < xmax and ymin < ymax");
    }
  }
  r.finish();
  job.grid = g;
}

void parse_steps(const YAML::Node& node, JobSpec& job, Diagnostics& diag) {
  if (!node.IsSequence()) {
    diag.error(node, "steps", "expected a list of steps, e.g. - {id: ndvi, kind: index.ndvi, input: scene}");
    return;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node s = node[i];
    StepSpec st;
    st.node = s;
    st.line = line_of(s);
    const std::string kp = "steps[" + std::to_string(i) + "]";
    if (!s.IsMap()) {
      diag.error(s, kp, "expected {id, kind, ...}");
      continue;
    }
    try {
      if (s["id"]) st.id = s["id"].as<std::string>();
      if (s["kind"]) st.kind = s["kind"].as<std::string>();
    } catch (const YAML::Exception&) {
      diag.error(s, kp, "`id` and `kind` must be strings");
    }
    if (st.id.empty()) diag.error(s, kp + ".id", "is required");
    if (st.kind.empty()) diag.error(s, kp + ".kind", "is required (see `qinling steps`)");
    job.steps.push_back(std::move(st));
  }
}

void parse_outputs(const YAML::Node& node, JobSpec& job, Diagnostics& diag) {
  if (!node.IsSequence()) {
    diag.error(node, "outputs", "expected a list, e.g. - {from: ndvi, path: ndvi.tif, format: cog}");
    return;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string kp = "outputs[" + std::to_string(i) + "]";
    MapReader r(node[i], kp, diag);
    OutputSpec o;
    o.line = line_of(node[i]);
    r.get("from", o.from, true);
    r.get("path", o.path, true);
    r.get("format", o.format, false);  // checked against the step's formats when planning
    const YAML::Node opts = r.take("options");
    if (opts.IsDefined()) {
      if (!opts.IsMap()) diag.error(opts, kp + ".options", "expected GDAL creation options, e.g. {COMPRESS: DEFLATE}");
      else
        for (const auto& kv : opts) o.options[kv.first.as<std::string>()] = kv.second.as<std::string>();
    }
    r.finish();
    job.outputs.push_back(std::move(o));
  }
}

void parse_root(const YAML::Node& root, JobSpec& job, Diagnostics& diag);

}  // namespace

JobSpec parse_job(const std::string& file, Diagnostics& diag) {
  JobSpec job;
  job.file = fs::absolute(file).lexically_normal().string();
  job.base_dir = fs::path(job.file).parent_path().string();
  if (!fs::exists(job.file)) throw ConfigError(file + ": no such job file");
  {
    // YAML is UTF-8, and job names and ids end up in JSON records (issue 10).
    std::ifstream in(job.file, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (const int bad = first_non_utf8_line(text); bad > 0)
      throw ConfigError(file + ":" + std::to_string(bad) +
                        ": not UTF-8 text; YAML files are UTF-8 (convert it, e.g. iconv -f GBK -t UTF-8)");
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(job.file);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(file + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    throw ConfigError(file + ": cannot read the job: " + e.what());
  }
  // Our readers check the shapes they expect; anything they did not foresee (a list or a mapping used
  // as a key, say) still ends as a located job error, never as an "unexpected failure".
  try {
    parse_root(root, job, diag);
  } catch (const YAML::Exception& e) {
    throw ConfigError(file + ":" + std::to_string(e.mark.line + 1) + ": unexpected YAML here (" + e.msg +
                      "); keys are plain names and values have the types shown in the README's job-file section");
  }
  return job;
}

namespace {

void parse_root(const YAML::Node& root, JobSpec& job, Diagnostics& diag) {
  MapReader r(root, "", diag);
  if (!r.ok()) return;
  r.get("job", job.name, true);
  r.get("memory_mb", job.memory_mb, false);
  if (job.memory_mb < 16) diag.error(root["memory_mb"], "memory_mb", "must be at least 16");
  if (const YAML::Node g = r.take("grid"); g.IsDefined()) parse_grid(g, job, diag);
  if (const YAML::Node n = r.take("inputs"); n.IsDefined()) parse_inputs(n, job.base_dir, job, diag);
  else diag.error(root, "inputs", "is required");
  if (const YAML::Node n = r.take("steps"); n.IsDefined()) parse_steps(n, job, diag);
  if (const YAML::Node n = r.take("outputs"); n.IsDefined()) parse_outputs(n, job, diag);
  else diag.error(root, "outputs", "is required");
  r.finish();
}

}  // namespace

}  // namespace qinling::pipeline
