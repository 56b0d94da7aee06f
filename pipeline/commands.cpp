#include "pipeline/commands.hpp"

#include <cpl_conv.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "models/errors.hpp"
#include "pipeline/output_lock.hpp"
#include "pipeline/run_report.hpp"
#include "pipeline/mpi_world.hpp"
#include "pipeline/runner.hpp"
#include "pipeline/stac_item.hpp"
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

namespace {

// The run's raster outputs (COG/GeoTIFF), which get STAC Items and thumbnails.
std::vector<std::string> raster_outputs(const std::vector<PlannedOutput>& outputs) {
  std::vector<std::string> out;
  for (const auto& o : outputs)
    if (o.format == "cog" || o.format == "gtiff") out.push_back(o.path);
  return out;
}

std::string join_ids(const std::vector<std::string>& ids) {
  std::string s;
  for (const auto& i : ids) s += (s.empty() ? "" : ", ") + i;
  return s.empty() ? "none" : s;
}

// GDAL writes scratch files (the COG driver's overviews) under CPL_TMPDIR when it is set; a folder
// that does not exist would only fail at the end of a long run, so say so before any work.
void check_gdal_temporary_folder() {
  const char* dir = CPLGetConfigOption("CPL_TMPDIR", nullptr);
  std::error_code ec;
  if (dir != nullptr && !fs::is_directory(dir, ec))
    throw ConfigError(std::string("CPL_TMPDIR=") + dir + ": no such folder (GDAL writes its temporary files " +
                      "there): create it, or unset CPL_TMPDIR to write them beside the outputs");
}

}  // namespace

int command_run(const std::string& job_file, const RunOptions& options, const CommonFlags& flags,
                const RecordOptions& record) {
  raster::init_gdal();
  Progress::install_interrupt_handler();
  // A run refused before it has a plan (bad job file, missing input) is a failed run in the job store too.
  Plan plan = [&] {
    try {
      check_gdal_temporary_folder();
      // Under MPI every rank plans; one rank failing (an input missing on its node) stops them all.
      return mpi::collective([&] { return make_plan(job_file, options); });
    } catch (const Error& e) {
      record_planning_failure(job_file, record, e.exit_code(), e.what());
      throw;
    } catch (const std::exception& e) {
      record_planning_failure(job_file, record, 1, e.what());
      throw;
    }
  }();
  // Before anything reads or writes the outputs: a second run on this folder waits or fails.
  std::optional<OutputLock> lock;
  try {
    lock.emplace(plan.out_dir, record.wait_seconds);
  } catch (const Error& e) {
    // A folder that cannot be locked (read-only, busy) is a failed run in the job store too.
    RunRecorder(plan, record).failed(e.exit_code(), e.what());
    throw;
  }
  WarningCollector warnings;
  RunRecorder recorder(plan, record);
  lock->describe_holder(recorder.run_id(), plan.job.name);
  for (const auto& left : lock->sweep_stale_temporaries())
    spdlog::info("removed {}, a temporary left by an interrupted run", left);
  if (const auto earlier = recorder.unchanged_since()) {
    recorder.skipped(*earlier);
    // Said even with --quiet (on stderr): a timing script must not mistake a skip for a fast run.
    const std::string note = "job '" + plan.job.name + "' unchanged since run " + std::to_string(earlier->id) +
                             " (same job, inputs and version; outputs verified): no raster work done; --force recomputes";
    if (flags.quiet) std::fprintf(stderr, "qinling: %s\n", note.c_str());
    else spdlog::info("{}", note);
    return 0;
  }
  const std::vector<PlannedOutput> all_outputs = plan.outputs;
  Progress progress(Progress::detect(flags.quiet));
  RunReport report;
  CacheDecisions decisions;
  std::string report_file;
  try {
    decisions = apply_step_cache(plan, recorder.step_lookup(), record.force);
    recorder.set_decisions(&decisions);
    const auto cached = decisions.ids("cached");
    if (!cached.empty())
      spdlog::info("job '{}': reusing unchanged step(s) {}; computing {}", plan.job.name, join_ids(cached),
                   join_ids(decisions.ids("computed")));
    else
      spdlog::info("job '{}': {} step(s), {} output(s), grid {}x{}", plan.job.name, plan.steps.size(),
                   plan.outputs.size(), plan.grid.width, plan.grid.height);
    if (!decisions.nothing_to_compute()) report = run_plan(plan, options, progress);
    recorder.succeeded(report, options);
    RunSummary summary;
    summary.job_name = plan.job.name, summary.job_file = plan.job.file, summary.out_dir = plan.out_dir;
    summary.state = "succeeded", summary.run_id = recorder.run_id(), summary.started = recorder.started();
    summary.seconds = report.seconds, summary.windows = report.windows, summary.decisions = &decisions;
    summary.outputs = recorder.outputs(), summary.phases = progress.timings(), summary.warnings = warnings.lines();
    summary.pass_read_seconds = report.pass_read_seconds, summary.step_cpu_seconds = report.step_cpu_seconds;
    summary.collection = write_stac_collection(plan, raster_outputs(all_outputs), recorder.started(), recorder.run_id());
    report_file = write_run_report(summary);
    recorder.report_written(report_file);
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
    for (const auto& s : decisions.steps)
      if (s.state == "cached")
        for (const auto& p : s.outputs)
          std::printf("  kept  %s  (step '%s' unchanged since run %lld)\n", p.c_str(), s.id.c_str(),
                      static_cast<long long>(s.from_run));
    std::printf("  report %s\n", report_file.c_str());
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
