#include "pipeline/plan.hpp"

#include <algorithm>
#include <optional>
#include <filesystem>
#include <set>

#include <glob.h>

#include "models/errors.hpp"
#include "pipeline/input_checks.hpp"
#include "pipeline/mosaic.hpp"
#include "pipeline/sensor_profile.hpp"
#include "pipeline/weather_select.hpp"
#include "raster/hdf5_cube.hpp"
#include "vector/ogr_io.hpp"

namespace qinling::pipeline {
namespace fs = std::filesystem;

namespace {

std::string canonical_or_normal(const std::string& p) {
  std::error_code ec;
  auto c = fs::weakly_canonical(p, ec);
  return ec ? fs::path(p).lexically_normal().string() : c.string();
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// Expands a frame set's globs (sorted, duplicates dropped); the frames themselves are opened by
// the step that reads them, which reports a bad frame by name and goes on with the others.
void resolve_frames(const InputSpec& in, Plan& plan, Diagnostics& diag, ValidationContext& ctx) {
  std::set<std::string> files;
  for (const auto& pattern : in.frame_patterns) {
    glob_t g{};
    const int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
    for (std::size_t i = 0; rc == 0 && i < g.gl_pathc; ++i)
      if (fs::is_regular_file(g.gl_pathv[i])) files.insert(g.gl_pathv[i]);
    ::globfree(&g);
    if (rc != 0 && !is_glob(pattern) && !fs::exists(pattern))
      diag.error(in.line, "inputs." + in.name + ".path", pattern + ": no such frame file");
  }
  if (files.empty())
    diag.error(in.line, "inputs." + in.name + ".path", "no file matches the frames pattern(s) " + join(in.frame_patterns));
  plan.frame_inputs[in.name].assign(files.begin(), files.end());
  ctx.frame_inputs[in.name] = plan.frame_inputs[in.name];
}

// Opens every referenced file once; fills per-input band names and band sources.
void resolve_inputs(Plan& plan, Diagnostics& diag, ValidationContext& ctx) {
  for (auto& in : plan.job.inputs) {
    if (!in.scenes.empty()) continue;  // a mosaic: its hidden scene inputs follow (plan_mosaics)
    if (!in.frame_patterns.empty()) {
      resolve_frames(in, plan, diag, ctx);
      continue;
    }
    if (!in.select.empty()) {
      try {
        const WeatherSelection sel = select_weather_band(in.path, in.select, in.units, in.calibrate);
        // `path` stays the weather file (so run fingerprints see it change); the band reads the selection.
        in.bands.push_back({"value", sel.path, sel.band, in.line});
      } catch (const Error& e) {
        diag.error(in.select_line, "inputs." + in.name + ".select", e.what());
        ctx.input_bands[in.name] = {"value"};  // so steps naming it are not reported twice
        continue;
      }
    }
    std::vector<std::pair<std::string, int>> files;  // path, line
    if (!in.path.empty() && in.select.empty()) files.emplace_back(in.path, in.line);
    for (const auto& b : in.bands)
      if (b.path != in.path || !in.select.empty()) files.emplace_back(b.path, b.line);
    for (const auto& b : in.extra_bands)
      if (b.path != in.path) files.emplace_back(b.path, b.line);
    bool all_ok = true;
    for (const auto& [path, line] : files) {
      if (plan.files.count(path)) continue;
      try {
        plan.files[path] = raster::describe_raster(path);
        plan.file_resampling[path] = in.resampling;
        // Without a CRS it cannot be placed on the grid; say so now, not after the run (issue 10).
        if (plan.files[path].grid.crs_wkt.empty())
          diag.error(line, "inputs." + in.name,
                     path + " has no coordinate reference system; assign one (gdal_edit.py -a_srs EPSG:4547 FILE)");
      } catch (const Error& e) {
        // An input given only by `path` may be a vector layer (regions, zones, points).
        bool is_vector = false;
        if (in.bands.empty() && path == in.path) {
          try {
            vector::open_vector(path);
            is_vector = true;
          } catch (const Error&) {
          }
        }
        if (is_vector) {
          plan.vector_inputs[in.name] = path;
          ctx.vector_inputs[in.name] = path;
        } else {
          diag.error(line, "inputs." + in.name, e.what());
        }
        all_ok = false;
      }
    }
    if (plan.vector_inputs.count(in.name)) continue;
    std::vector<std::string>& names = ctx.input_bands[in.name];
    std::optional<SensorProfile> profile;
    if (!in.sensor.empty()) {
      try {
        profile = load_sensor_profile(in.sensor, plan.job.base_dir);
        ctx.input_sensors[in.name] = profile->file;
      } catch (const Error& e) {
        diag.error(in.sensor_line, "inputs." + in.name + ".sensor", e.what());
      }
    }
    if (!all_ok && !plan.vector_inputs.count(in.name)) {
      // Its file is missing or unreadable (already reported): do not report what follows from it.
      ctx.unresolved_inputs.insert(in.name);
      if (profile)
        for (const auto& [name, sb] : profile->bands) names.push_back(name);
      for (const auto& b : in.bands) names.push_back(b.name);
      for (const auto& b : in.extra_bands) names.push_back(b.name);
      continue;
    }
    if (in.bands.empty() && all_ok && !in.path.empty()) {
      const int count = plan.files.at(in.path).bands;
      if (profile && !profile->bands.empty()) {
        if (profile->band_count > 0 && count != profile->band_count)
          diag.error(in.sensor_line, "inputs." + in.name + ".sensor",
                     "profile '" + profile->name + "' describes a stack of " + std::to_string(profile->band_count) +
                         " bands but " + in.path + " has " + std::to_string(count) +
                         "; name the bands with `bands:` or choose another sensor");
        for (const auto& [name, sb] : profile->bands)
          if (sb.band > 0) in.bands.push_back({name, in.path, sb.band, in.line});
      } else {
        for (int b = 1; b <= count; ++b) in.bands.push_back({"b" + std::to_string(b), in.path, b, in.line});
      }
    }
    for (const auto& b : in.extra_bands) {
      const bool taken = std::any_of(in.bands.begin(), in.bands.end(), [&](const BandSpec& o) { return o.name == b.name; });
      if (taken) diag.error(b.line, "inputs." + in.name + ".extra_bands." + b.name, "the input already has a band '" + b.name + "'");
      else in.bands.push_back(b);
    }
    for (const auto& b : in.bands) {
      names.push_back(b.name);
      raster::BandSource src{b.path, b.band};
      if (profile && profile->bands.count(b.name)) {
        const SensorBand& sb = profile->bands.at(b.name);
        src.scale = sb.scale;
        src.offset = sb.offset;
        src.resampling = sb.resampling;
      }
      plan.band_sources[band_key(in.name, b.name)] = src;
      ctx.band_files[band_key(in.name, b.name)] = {b.path, b.band};
      auto f = plan.files.find(b.path);
      if (f != plan.files.end() && b.band > f->second.bands)
        diag.error(b.line, "inputs." + in.name + ".bands." + b.name,
                   "band " + std::to_string(b.band) + " does not exist: " + b.path + " has " +
                       std::to_string(f->second.bands) + " band(s)");
    }
    if (profile && !in.mask.empty()) {
      const std::string kp = "inputs." + in.name + ".mask";
      std::vector<std::string> unknown;
      InputMask m;
      m.mask = profile->mask_for(in.mask, unknown);
      for (const auto& u : unknown) {
        std::string known;
        for (const auto& [f, v] : profile->flags) known += (known.empty() ? "" : ", ") + f;
        diag.error(in.mask_line, kp, "'" + u + "' is not a flag of sensor '" + profile->name + "' (flags: " +
                                         (known.empty() ? "none: the profile has no quality band" : known) + ")");
      }
      const auto has_qa = std::find(names.begin(), names.end(), profile->qa_band);
      if (profile->qa_band.empty() || has_qa == names.end()) {
        if (unknown.empty())
          diag.error(in.mask_line, kp, "needs the quality band '" + (profile->qa_band.empty() ? "qa" : profile->qa_band) +
                                           "' among the input's bands; add it under `bands:`");
      } else {
        m.qa_key = band_key(in.name, profile->qa_band);
        for (const auto& n : names)
          if (n != profile->qa_band) m.band_keys.push_back(band_key(in.name, n));
        plan.masks.push_back(std::move(m));
      }
    }
  }
}

void build_steps(Plan& plan, Diagnostics& diag, ValidationContext& ctx) {
  const auto& registry = builtin_steps();
  std::set<std::string> ids;
  for (const auto& s : plan.job.steps) {
    if (s.id.empty()) continue;
    if (ctx.is_input(s.id)) diag.error(s.line, "steps." + s.id, "id '" + s.id + "' is also an input name");
    if (!ids.insert(s.id).second) diag.error(s.line, "steps." + s.id, "duplicate step id '" + s.id + "'");
    ctx.step_ids.push_back(s.id);
    if (const StepKind* k = registry.find(s.kind); k && k->make()->step_class() == StepClass::product)
      ctx.product_ids.push_back(s.id);
  }
  for (size_t i = 0; i < plan.job.steps.size(); ++i) {
    const StepSpec& spec = plan.job.steps[i];
    const std::string kp = "steps[" + std::to_string(i) + "]";
    if (spec.kind.empty() || spec.id.empty()) continue;
    const StepKind* kind = registry.find(spec.kind);
    if (kind == nullptr) {
      diag.error(spec.node["kind"], kp + ".kind",
                 "unknown step kind '" + spec.kind + "' (known: " + join(registry.names()) + "; see `qinling steps`)");
      continue;
    }
    std::unique_ptr<Step> step = kind->make();
    step->id = spec.id;
    MapReader reader(spec.node, kp, diag);
    reader.take("id");
    reader.take("kind");
    OptionBinder binder(&reader);
    step->declare(binder);
    reader.finish();
    step->validate(ctx, diag, spec.line, kp);
    if (step->step_class() == StepClass::pixel)
      for (const auto& k : step->needs())
        if (ctx.is_product(k))
          diag.error(spec.line, kp, "'" + k + "' is a product (table, tiles…), not a per-pixel layer this step can read");
    plan.steps.push_back(std::move(step));
  }
}

// Orders steps so each comes after what it reads; reports cycles by name.
void order_steps(Plan& plan, Diagnostics& diag) {
  std::map<std::string, Step*> by_id;
  for (auto& s : plan.steps) by_id[s->id] = s.get();
  std::vector<std::unique_ptr<Step>> ordered;
  std::set<std::string> done;
  std::vector<std::unique_ptr<Step>> pending = std::move(plan.steps);
  while (!pending.empty()) {
    bool progressed = false;
    for (auto it = pending.begin(); it != pending.end();) {
      bool ready = true;
      for (const auto& k : (*it)->needs())
        if (by_id.count(k) && !done.count(k)) ready = false;
      if (ready) {
        done.insert((*it)->id);
        ordered.push_back(std::move(*it));
        it = pending.erase(it);
        progressed = true;
      } else {
        ++it;
      }
    }
    if (!progressed) {
      std::vector<std::string> cyc;
      for (const auto& s : pending) cyc.push_back(s->id);
      diag.error("steps form a cycle (each waits for another): " + join(cyc));
      break;
    }
  }
  plan.steps = std::move(ordered);
}

void plan_outputs(Plan& plan, Diagnostics& diag, const RunOptions& options) {
  const std::string base = options.out_dir.empty() ? plan.job.base_dir : fs::absolute(options.out_dir).lexically_normal().string();
  plan.out_dir = base;
  std::set<std::string> inputs, seen;
  std::map<std::string, std::vector<raster::Hdf5LayerSpec>> cubes;  // hdf5 file → its layers
  std::map<std::string, int> cube_lines;
  std::map<std::string, bool> cube_products;  // hdf5 file → holds product rasters
  for (const auto& [path, info] : plan.files) inputs.insert(canonical_or_normal(path));
  for (size_t i = 0; i < plan.job.outputs.size(); ++i) {
    const OutputSpec& o = plan.job.outputs[i];
    const std::string kp = "outputs[" + std::to_string(i) + "]";
    if (o.from.empty() || o.path.empty()) continue;
    const Step* step = plan.step(o.from);
    std::string format = o.format;
    if (step == nullptr) {
      diag.error(o.line, kp + ".from", "'" + o.from + "' is not a step id");
    } else {
      auto formats = step->output_formats();
      if (format.empty() && !formats.empty()) format = formats.front();
      // Every pixel layer can also go into an HDF5 cube (raster/hdf5_cube.hpp).
      if (step->step_class() == StepClass::pixel) formats.push_back("hdf5");
      if (std::find(formats.begin(), formats.end(), format) == formats.end())
        diag.error(o.line, kp + ".format",
                   "step '" + o.from + "' cannot be written as '" + format + "' (formats: " + join(formats) + ")");
    }
    PlannedOutput p{o.from, resolve_path(base, o.path), format, o.options};
    // With --out the caller chose where outputs go: a job file may not write elsewhere (issue 10).
    if (!options.out_dir.empty()) {
      const fs::path rel = fs::path(p.path).lexically_normal().lexically_relative(base);
      if (fs::path(o.path).is_absolute() || rel.empty() || *rel.begin() == "..")
        diag.error(o.line, kp + ".path",
                   "'" + o.path + "' leaves the output folder " + base + " given by --out; write a path inside it");
    }
    const std::string canon = canonical_or_normal(p.path);
    if (inputs.count(canon)) diag.error(o.line, kp + ".path", p.path + " is an input of this job; it would be overwritten");
    if (format == "hdf5" && step != nullptr) {
      // Several hdf5 outputs with one path are the variables (or times) of one file. Pixel layers
      // are written after the streamed pass, product rasters after the products: one file holds
      // one kind.
      const bool product = step->step_class() == StepClass::product;
      if (const auto [it, fresh] = cube_products.emplace(canon, product); !fresh && it->second != product)
        diag.error(o.line, kp + ".path",
                   p.path + " mixes per-pixel layers and product rasters (" + o.from +
                       "); write them to two hdf5 files");
      try {
        if (!cube_lines.count(canon) && !seen.insert(canon).second)
          diag.error(o.line, kp + ".path", p.path + " is written by two outputs");
        cubes[canon].push_back(raster::parse_hdf5_options(o.options, o.from));
        cube_lines[canon] = o.line;
      } catch (const ConfigError& e) {
        diag.error(o.line, kp + "." + std::string(e.what()).substr(0, std::string(e.what()).find(':')),
                   std::string(e.what()).substr(std::string(e.what()).find(':') + 2));
      }
    } else if (!seen.insert(canon).second) {
      diag.error(o.line, kp + ".path", p.path + " is written by two outputs");
    }
    plan.outputs.push_back(std::move(p));
  }
  for (const auto& [canon, layers] : cubes) {
    try {
      raster::check_hdf5_layers(layers);
    } catch (const ConfigError& e) {
      diag.error(cube_lines[canon], "outputs", canon + ": " + e.what());
    }
  }
}

void plan_grid(Plan& plan, Diagnostics& diag) {
  // The first raster input defines the default grid.
  std::string first_file;
  for (const auto& in : plan.job.inputs) {
    if (plan.vector_inputs.count(in.name)) continue;
    const std::string f =
        in.path.empty() || !in.select.empty() ? (in.bands.empty() ? "" : in.bands.front().path) : in.path;
    if (plan.files.count(f)) {
      first_file = f;
      break;
    }
  }
  if (first_file.empty()) {
    const auto& g = plan.job.grid;
    if (g && !g->crs.empty() && g->resolution > 0 && g->extent) {
      try {
        plan.grid = raster::Grid::from_extent(*g->extent, g->resolution, raster::crs_to_wkt(g->crs));
      } catch (const Error& e) {
        diag.error(g->line, "grid", e.what());
      }
    } else if (diag.empty()) {
      diag.error("no raster input to take the grid from; give grid: {crs, resolution, extent}");
    }
    return;
  }
  raster::Grid base = plan.files.at(first_file).grid;
  if (!plan.job.grid) {
    plan.grid = base;
    return;
  }
  const GridSpec& g = *plan.job.grid;
  try {
    std::string wkt = base.crs_wkt;
    if (!g.crs.empty()) {
      wkt = raster::crs_to_wkt(g.crs);
      // With resolution and extent given nothing comes from the file's grid: skip its reprojection (a PROJ search).
      if (!raster::same_crs(wkt, base.crs_wkt) && !(g.resolution > 0 && g.extent))
        base = raster::reproject_grid(base, wkt);
    }
    const double res = g.resolution > 0 ? g.resolution : base.resolution_x();
    const raster::BBox extent = g.extent ? *g.extent : base.bounds();
    plan.grid = raster::Grid::from_extent(extent, res, wkt);
    if (std::int64_t(plan.grid.width) * plan.grid.height > (std::int64_t(1) << 40))
      diag.error(g.line, "grid", "the grid is absurdly large; check resolution and extent units");
  } catch (const Error& e) {
    diag.error(g.line, "grid", e.what());
  }
}

}  // namespace

const Step* Plan::step(const std::string& id) const {
  for (const auto& s : steps)
    if (s->id == id) return s.get();
  return nullptr;
}

Plan make_plan(const std::string& job_file, const RunOptions& options) {
  Diagnostics diag(job_file);
  Plan plan;
  plan.job = parse_job(job_file, diag);
  plan.memory_mb = options.memory_mb > 0 ? options.memory_mb : plan.job.memory_mb;
  ValidationContext ctx;
  ctx.base_dir = plan.job.base_dir;
  resolve_inputs(plan, diag, ctx);
  plan_mosaics(plan, diag, ctx);
  build_steps(plan, diag, ctx);
  if (plan.steps.empty() && diag.empty()) diag.error("the job has no steps; add one under `steps:`");
  order_steps(plan, diag);
  plan_outputs(plan, diag, options);
  if (plan.outputs.empty() && diag.empty()) diag.error("the job has no outputs; add one under `outputs:`");
  plan_grid(plan, diag);
  if (diag.empty()) check_input_rasters(plan, diag);
  diag.throw_if_any();
  rank_mosaic_scenes(plan);  // best_quality mosaics: reads their quality bands once
  return plan;
}

}  // namespace qinling::pipeline
