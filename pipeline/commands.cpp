#include "pipeline/commands.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>

#include "models/errors.hpp"
#include "pipeline/runner.hpp"
#include "pipeline/step.hpp"
#include "raster/gdal_io.hpp"

namespace qinling::pipeline {
namespace fs = std::filesystem;

namespace {
std::string human_bytes(std::uintmax_t b) {
  char buf[32];
  if (b >= (1u << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", double(b) / (1u << 30));
  else if (b >= (1u << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", double(b) / (1u << 20));
  else std::snprintf(buf, sizeof buf, "%.1f KiB", double(b) / 1024.0);
  return buf;
}
}  // namespace

int command_run(const std::string& job_file, const RunOptions& options, const CommonFlags& flags,
                const RecordOptions& record) {
  raster::init_gdal();
  Progress::install_interrupt_handler();
  Plan plan = make_plan(job_file, options);
  RunRecorder recorder(plan, record);
  if (const auto earlier = recorder.unchanged_since()) {
    recorder.skipped(*earlier);
    // Said even with --quiet (on stderr): a timing script must not mistake a skip for a fast run.
    const std::string note = "job '" + plan.job.name + "' unchanged since run " + std::to_string(earlier->id) +
                             " (same job, inputs and version; outputs verified): no raster work done; --force recomputes";
    if (flags.quiet) std::fprintf(stderr, "qinling: %s\n", note.c_str());
    else spdlog::info("{}", note);
    return 0;
  }
  spdlog::info("job '{}': {} step(s), {} output(s), grid {}x{}", plan.job.name, plan.steps.size(), plan.outputs.size(),
               plan.grid.width, plan.grid.height);
  Progress progress(Progress::detect(flags.quiet));
  RunReport report;
  try {
    report = run_plan(plan, options, progress);
    recorder.succeeded(report, options);
  } catch (const Error& e) {
    recorder.failed(e.exit_code(), e.what());
    throw;
  } catch (const std::exception& e) {
    recorder.failed(1, e.what());
    throw;
  }
  if (!flags.quiet) {
    std::printf("job '%s' done in %.1f s (%zu windows)\n", plan.job.name.c_str(), report.seconds, report.windows);
    for (const auto& o : report.outputs) {
      const std::string dims = o.width > 0 ? std::to_string(o.width) + "x" + std::to_string(o.height) + ", " : "";
      std::printf("  wrote %s  (%s, %s%s, from step '%s')\n", o.path.c_str(), o.format.c_str(), dims.c_str(),
                  human_bytes(o.bytes).c_str(), o.step_id.c_str());
    }
    std::printf("Open in QGIS: Layer > Add Layer > Add Raster Layer, or drag the .tif onto the map; "
                "`gdalinfo -stats FILE` prints it here.\n");
  }
  return 0;
}

int command_validate(const std::string& job_file, const RunOptions& options, const CommonFlags& flags) {
  raster::init_gdal();
  Plan plan = make_plan(job_file, options);
  if (!flags.quiet) {
    std::printf("%s: ok — job '%s', %zu input(s), %zu step(s), %zu output(s), grid %dx%d at %g\n", job_file.c_str(),
                plan.job.name.c_str(), plan.job.inputs.size(), plan.steps.size(), plan.outputs.size(),
                plan.grid.width, plan.grid.height, plan.grid.resolution_x());
    for (const auto& o : plan.outputs) std::printf("  would write %s (%s)\n", o.path.c_str(), o.format.c_str());
  }
  return 0;
}

int command_steps(const std::string& only_kind) {
  const auto& registry = builtin_steps();
  bool any = false;
  for (const auto& k : registry.kinds()) {
    if (!only_kind.empty() && k.kind != only_kind) continue;
    any = true;
    std::printf("%s — %s\n  %s\n  options:\n", k.kind.c_str(), k.summary.c_str(), k.doc.c_str());
    std::printf("    %-12s %-22s %s\n", "id", "string, required", "name of the step's result");
    std::vector<OptionDoc> docs;
    OptionBinder binder(&docs);
    k.make()->declare(binder);
    for (const auto& d : docs) {
      std::string type = d.type + (d.required ? ", required" : "");
      std::string doc = d.doc + (d.default_value.empty() ? "" : " (default: " + d.default_value + ")");
      std::printf("    %-12s %-22s %s\n", d.key.c_str(), type.c_str(), doc.c_str());
    }
    std::printf("\n");
  }
  if (!any) throw ConfigError("unknown step kind '" + only_kind + "'");
  return 0;
}

int command_sample_data(const SampleDataOptions& options, const CommonFlags& flags) {
  raster::init_gdal();
  Progress::install_interrupt_handler();
  Progress progress(Progress::detect(flags.quiet));
  progress.phase("sample-data " + std::to_string(options.size) + "x" + std::to_string(options.size));
  const auto result = generate_sample_data(options, [&](double f) { progress.update(f); });
  progress.done();
  if (!flags.quiet) {
    std::printf("sample scene written to %s:\n", fs::absolute(options.dir).lexically_normal().c_str());
    for (const auto& f : result.files) std::printf("  %s\n", f.c_str());
  }
  return 0;
}

}  // namespace qinling::pipeline
