#include "pipeline/mpi_run.hpp"

#include <spdlog/spdlog.h>

#include "pipeline/mpi_world.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/runner.hpp"
#include "raster/gdal_io.hpp"

namespace qinling::pipeline {

int command_run_ranked(const std::string& job_file, const RunOptions& options, CommonFlags flags,
                       RecordOptions record) {
  if (mpi::size() <= 1) return command_run(job_file, options, flags, record);
  // Rank 0 must reach the raster pass the others wait in: nothing may be skipped on its own say.
  record.force = true;
  if (mpi::is_root()) {
    spdlog::info("{} MPI ranks; the job store's unchanged-run and step cache checks are off under MPI",
                 mpi::size());
    return command_run(job_file, options, flags, record);
  }
  spdlog::set_level(spdlog::level::off);
  raster::init_gdal();
  Progress::install_interrupt_handler();
  Plan plan = mpi::collective([&] { return make_plan(job_file, options); });
  Progress progress(Progress::Mode::quiet);
  run_plan(plan, options, progress);
  return 0;
}

std::set<std::string> products_on_every_rank(const Plan& plan) {
  std::set<std::string> every;
  if (mpi::size() <= 1) return every;
  // Backwards through the dependency order: a step is marked before the steps it reads are visited.
  for (auto it = plan.steps.rbegin(); it != plan.steps.rend(); ++it) {
    const Step& s = **it;
    if (s.step_class() != StepClass::product || !(s.distributed() || every.count(s.id))) continue;
    every.insert(s.id);
    for (const auto& k : s.needs()) {
      const Step* dep = plan.step(k);
      if (dep && dep->step_class() == StepClass::product) every.insert(k);
    }
  }
  return every;
}

}  // namespace qinling::pipeline
