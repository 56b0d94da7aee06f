// The `qinling` command line: the one place where exceptions become messages and exit codes.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <optional>

#include "models/errors.hpp"
#include "pipeline/commands.hpp"
#include "pipeline/info_command.hpp"
#include "pipeline/mpi_run.hpp"
#include "pipeline/mpi_world.hpp"
#include "pipeline/ops_commands.hpp"
#include "pipeline/serve_command.hpp"
#include "pipeline/tiles_command.hpp"

int main(int argc, char** argv) {
  using namespace qinling::pipeline;
  CLI::App app{"qinling — the Digital Qinling monitoring pipeline (imagery, weather, supervision grids, tiles)"};
  app.require_subcommand(1);
  CommonFlags common;
  auto add_common = [&](CLI::App* cmd) {
    cmd->add_flag("-q,--quiet", common.quiet, "only errors");
    cmd->add_flag("-v,--verbose", common.verbose, "debug messages");
  };

  RunOptions run_opts;
  std::string job_file;
  auto* run = app.add_subcommand("run", "run a job file");
  run->add_option("job", job_file, "the job file (YAML)")->required();
  run->add_option("--threads", run_opts.threads, "worker threads (default: all cores)")->check(CLI::NonNegativeNumber);
  run->add_option("--out", run_opts.out_dir, "folder for outputs (default: relative to the job file)");
  run->add_option("--memory-mb", run_opts.memory_mb, "memory budget in MiB (default: the job's memory_mb, 512)")
      ->check(CLI::Range(16, 1 << 20));
  RecordOptions record;
  run->add_option("--store", record.store, "job store file (default: $QINLING_STORE, else ~/.local/share/qinling/jobs.db; 'none': do not record)");
  run->add_flag("--force", record.force, "recompute even when the job, its inputs and the program are unchanged");
  run->add_option("--wait", record.wait_seconds, "when another run holds the output folder, wait up to this many seconds (default: fail at once)")
      ->check(CLI::NonNegativeNumber);
  run->add_option("--run-id", record.run_id, "run claimed by a worker")->group("");
  add_common(run);

  auto* validate = app.add_subcommand("validate", "check a job file without running it");
  validate->add_option("job", job_file, "the job file (YAML)")->required();
  validate->add_option("--out", run_opts.out_dir, "folder the outputs would go to");
  add_common(validate);

  auto* info_cmd = app.add_subcommand("info", "what a weather file or station table holds: variables, levels, times");
  std::string info_file;
  bool info_all = false;
  info_cmd->add_option("file", info_file, "GRIB, NetCDF, HDF5 or any raster GDAL reads; or a station CSV")->required();
  info_cmd->add_flag("--all", info_all, "list every band (default: the first 24 of each variable)");

  auto* steps = app.add_subcommand("steps", "list every step kind with its options");
  std::string steps_kind;
  steps->add_option("kind", steps_kind, "show only this kind");

  SampleDataOptions sample;
  auto* sample_cmd = app.add_subcommand("sample-data", "write the synthetic Qinling sample scene");
  sample_cmd->add_option("dir", sample.dir, "destination folder")->required();
  sample_cmd->add_option("--size", sample.size, "pixels per side (30 m pixels)")->capture_default_str();
  sample_cmd->add_option("--seed", sample.seed, "random seed")->capture_default_str();
  sample_cmd->add_option("--compress", sample.compress, "DEFLATE, ZSTD or NONE")->capture_default_str();
  sample_cmd->add_option("--threads", sample.threads, "worker threads (default: all cores)");
  add_common(sample_cmd);

  TilesOptions tiles_opts;
  auto* tiles_cmd = app.add_subcommand("tiles", "tile a layer for GIS clients (XYZ, MBTiles, PMTiles, WMTS, TileJSON)");
  tiles_cmd->add_option("layer", tiles_opts.layer, "the layer: one band (rendered through a ramp) or RGB(A) Byte")->required();
  tiles_cmd->add_option("outdir", tiles_opts.out_dir, "output folder")->required();
  tiles_cmd->add_option("--zoom", tiles_opts.zoom, "zoom levels MIN-MAX (default: from the resolution)");
  tiles_cmd->add_option("--matrix-sets", tiles_opts.matrix_sets, "tile matrix sets: WebMercatorQuad and/or CGCS2000Quad (Tianditu, EPSG:4490)")->capture_default_str();
  tiles_cmd->add_option("--formats", tiles_opts.formats, "xyz,mbtiles,pmtiles")->capture_default_str();
  tiles_cmd->add_option("--ramp", tiles_opts.ramp, "colour ramp name (configs/ramps/NAME.yaml) or .yaml file");
  tiles_cmd->add_option("--range", tiles_opts.range, "value range MIN,MAX for the ramp (default: ramp's, else statistics)");
  tiles_cmd->add_option("--tile-format", tiles_opts.tile_format, "png or webp")->capture_default_str();
  tiles_cmd->add_option("--hillshade", tiles_opts.hillshade, "shaded relief raster (0..255, e.g. gdaldem hillshade of a DEM) multiplied into the ramp colours");
  tiles_cmd->add_option("--hillshade-strength", tiles_opts.hillshade_strength, "0..1, 1 = full multiply")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  tiles_cmd->add_option("--threads", tiles_opts.threads, "worker threads (default: all cores)")->check(CLI::NonNegativeNumber);
  tiles_cmd->footer(
      "Re-running into the same OUTDIR with the same settings draws only the tiles whose pixels changed and "
      "keeps the others (incremental); a killed run resumes from the tiles it had drawn. Changing the ramp, "
      "range, zoom, format or hillshade renders everything again.");
  add_common(tiles_cmd);

  ServeOptions serve_opts;
  auto* serve_cmd = app.add_subcommand("serve", "serve tiles (XYZ folders, MBTiles, PMTiles) over HTTP with WMTS and TileJSON");
  serve_cmd->add_option("dir", serve_opts.dir, "folder holding the tiles")->required();
  serve_cmd->add_option("--port", serve_opts.port, "TCP port")->capture_default_str()->check(CLI::Range(1, 65535));
  serve_cmd->add_option("--host", serve_opts.host, "address to listen on (0.0.0.0 for every interface)")->capture_default_str();
  serve_cmd->add_option("--threads", serve_opts.threads, "request threads")->capture_default_str()->check(CLI::Range(1, 256));
  add_common(serve_cmd);

  // Operations (issue 8): the job store, scheduling and workers.
  OpsFlags ops;
  auto add_ops = [&](CLI::App* cmd) {
    cmd->add_option("--store", ops.store, "job store file (default: $QINLING_STORE, else ~/.local/share/qinling/jobs.db)");
    cmd->add_flag("--json", ops.json, "JSON output for scripts");
    cmd->add_option("--tz", ops.tz, "time zone for times and cron fields")->capture_default_str();
  };
  SubmitOptions submit_opts;
  auto* submit_cmd = app.add_subcommand("submit", "store a job and queue a run (now, --at TIME) or a schedule (--every CRON)");
  submit_cmd->add_option("job", submit_opts.job_file, "the job file (YAML)")->required();
  submit_cmd->add_option("--at", submit_opts.at, "run at YYYY-MM-DD[THH:MM[:SS]] (wall time in --tz), @UNIX or now");
  submit_cmd->add_option("--every", submit_opts.every, "cron schedule 'MIN HOUR DAY MONTH WEEKDAY', e.g. '0 3 * * 1'");
  submit_cmd->add_option("--name", submit_opts.name, "name in the store (default: the job's `job:`)");
  add_ops(submit_cmd);
  auto* jobs_cmd = app.add_subcommand("jobs", "list stored jobs with their schedules and last run");
  add_ops(jobs_cmd);
  std::string runs_job;
  auto* runs_cmd = app.add_subcommand("runs", "list runs (newest first), of one job if given");
  runs_cmd->add_option("job", runs_job, "job name or id");
  add_ops(runs_cmd);
  std::int64_t run_id = 0;
  bool follow = false;
  auto* status_cmd = app.add_subcommand("status", "one run: state, times, exit code, outputs with checksums");
  auto* logs_cmd = app.add_subcommand("logs", "the log lines of a run");
  logs_cmd->add_flag("-f,--follow", follow, "keep printing until the run ends");
  auto* cancel_cmd = app.add_subcommand("cancel", "cancel a queued or running run");
  auto* retry_cmd = app.add_subcommand("retry", "queue a new run of the same job");
  auto* report_cmd = app.add_subcommand("report", "where a run's report (HTML + JSON, thumbnails) is, and its summary");
  for (auto* cmd : {status_cmd, logs_cmd, cancel_cmd, retry_cmd, report_cmd}) {
    cmd->add_option("run", run_id, "run id (see `qinling runs`)")->required();
    add_ops(cmd);
  }
  WorkerOptions worker_opts;
  auto* worker_cmd = app.add_subcommand("worker", "execute due runs (each in its own process, under a renewed lease)");
  worker_cmd->add_flag("--once", worker_opts.once, "exit when nothing is due");
  worker_cmd->add_option("--concurrency", worker_opts.concurrency, "runs at the same time")->capture_default_str()->check(CLI::Range(1, 64));
  worker_cmd->add_option("--lease", worker_opts.lease_seconds, "lease in seconds")->capture_default_str()->check(CLI::Range(3, 86400));
  worker_cmd->add_option("--poll", worker_opts.poll_seconds, "seconds between looks at the store when idle")->capture_default_str();
  add_ops(worker_cmd);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("qinling"));
  spdlog::set_pattern("%^%l%$: %v");
  spdlog::set_level(common.verbose ? spdlog::level::debug : common.quiet ? spdlog::level::err : spdlog::level::info);

  // MPI starts only under mpirun/srun (issue 9); it ends when `mpi_session` goes out of scope.
  std::optional<mpi::Session> mpi_session;
  try {
    mpi_session.emplace(&argc, &argv);
    if (*run) return command_run_ranked(job_file, run_opts, common, record);
    if (*submit_cmd) return command_submit(submit_opts, ops);
    if (*jobs_cmd) return command_jobs(ops);
    if (*runs_cmd) return command_runs(runs_job, ops);
    if (*status_cmd) return command_status(run_id, ops);
    if (*logs_cmd) return command_logs(run_id, follow, ops);
    if (*cancel_cmd) return command_cancel(run_id, ops);
    if (*retry_cmd) return command_retry(run_id, ops);
    if (*report_cmd) return command_report(run_id, ops);
    if (*worker_cmd) return command_worker(worker_opts, ops);
    if (*validate) return command_validate(job_file, run_opts, common);
    if (*steps) return command_steps(steps_kind);
    if (*info_cmd) return command_info(info_file, info_all);
    if (*sample_cmd) return command_sample_data(sample, common);
    if (*tiles_cmd) return command_tiles(tiles_opts, common);
    if (*serve_cmd) return command_serve(serve_opts, common);
  } catch (const qinling::Error& e) {
    spdlog::error("{}", e.what());
    mpi::abort_if_unagreed(e.exit_code(), e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    spdlog::error("unexpected failure: {}", e.what());
    mpi::abort_if_unagreed(1, e.what());
    return 1;
  }
  return 0;
}
