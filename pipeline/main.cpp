// The `qinling` command line: the one place where exceptions become messages and exit codes.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "models/errors.hpp"
#include "pipeline/commands.hpp"

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
  add_common(run);

  auto* validate = app.add_subcommand("validate", "check a job file without running it");
  validate->add_option("job", job_file, "the job file (YAML)")->required();
  validate->add_option("--out", run_opts.out_dir, "folder the outputs would go to");
  add_common(validate);

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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("qinling"));
  spdlog::set_pattern("%^%l%$: %v");
  spdlog::set_level(common.verbose ? spdlog::level::debug : common.quiet ? spdlog::level::err : spdlog::level::info);

  try {
    if (*run) return command_run(job_file, run_opts, common);
    if (*validate) return command_validate(job_file, run_opts, common);
    if (*steps) return command_steps(steps_kind);
    if (*sample_cmd) return command_sample_data(sample, common);
  } catch (const qinling::Error& e) {
    spdlog::error("{}", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    spdlog::error("unexpected failure: {}", e.what());
    return 1;
  }
  return 0;
}
