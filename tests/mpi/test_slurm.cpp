// The Slurm templates on a throw-away single-node Slurm (tests/mpi/slurm_local.sh): an array of
// two jobs with its dependent merge step, and one MPI job through `srun --mpi=pmix`; every output
// equals the single-process run. Skips without root or without slurm-wlm/munge installed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "support/test_support.hpp"

namespace fs = std::filesystem;
using namespace qinling::test;

namespace {

std::string job_text(const std::string& name, const std::string& step) {
  const std::string scene = sample_scene_dir();
  return "job: " + name + "\ninputs:\n  scene: {path: " + scene +
         "/scene_2024-07.tif, bands: {red: 4, nir: 5}}\n"
         "steps:\n  - " +
         step + "\noutputs:\n  - {from: v, path: v.tif, format: cog}\n";
}

class LocalSlurm {
 public:
  explicit LocalSlurm(const std::string& dir) : dir_(dir) {
    const auto r = run_command(script() + " start " + dir_);
    started_ = r.exit_code == 0;
    log_ = r.output;
  }
  ~LocalSlurm() { run_command(script() + " stop " + dir_); }
  bool started() const { return started_; }
  const std::string& log() const { return log_; }
  std::string env() const { return "SLURM_CONF=" + dir_ + "/slurm.conf "; }

 private:
  static std::string script() { return std::string(QINLING_SOURCE_DIR) + "/tests/mpi/slurm_local.sh"; }
  std::string dir_, log_;
  bool started_ = false;
};

TEST(Slurm, ArrayWithMergeAndOneMpiJobGiveTheSingleProcessOutputs) {
  if (::geteuid() != 0) GTEST_SKIP() << "starting slurmd and munged needs root";
  if (run_command("command -v slurmctld slurmd munged sbatch").exit_code != 0)
    GTEST_SKIP() << "slurm-wlm and munge are not installed";
  TempDir dir;
  write_text(dir / "a.yaml", job_text("a", "{id: v, kind: index.ndvi, input: scene}"));
  write_text(dir / "b.yaml",
             job_text("b", "{id: v, kind: raster.calc, input: scene, expression: \"nir - red\"}"));
  write_text(dir / "jobs.txt", (dir / "a.yaml") + "\n" + (dir / "b.yaml") + "\n");
  for (const char* j : {"a", "b"}) {
    const auto r = run_qinling(std::string("run ") + (dir / (std::string(j) + ".yaml")) + " --out " +
                               (dir / (std::string("ref/") + j)) + " --quiet");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  LocalSlurm slurm(dir / "slurm");
  ASSERT_TRUE(slurm.started()) << slurm.log();
  const std::string env = slurm.env() + "QINLING=" + QINLING_BIN +
                          " QINLING_STORE=none SBATCH_OPTS='--chdir=" + (dir / "") + "' ";
  const std::string slurm_dir = std::string(QINLING_SOURCE_DIR) + "/scripts/slurm/";
  auto r = run_command(env + slurm_dir + "submit-array.sh " + (dir / "jobs.txt") + " " + (dir / "arr"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_command(env + "sbatch --parsable --chdir=" + (dir / "") +
                  " --nodes=1 --ntasks-per-node=2 --cpus-per-task=1 " + slurm_dir + "qinling-mpi.sbatch " +
                  (dir / "a.yaml") + " " + (dir / "mpi"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  std::string queue;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    queue = run_command(slurm.env() + "squeue -h -o '%i %T %r'").output;
  } while (!queue.empty() && std::chrono::steady_clock::now() < deadline);
  ASSERT_TRUE(queue.empty()) << "still queued: " << queue;
  for (const char* j : {"a", "b"})
    EXPECT_TRUE(read_bytes(dir / (std::string("arr/") + j + "/v.tif")) ==
                read_bytes(dir / (std::string("ref/") + j + "/v.tif")))
        << "array task " << j << ": " << read_bytes(dir / "qinling-array.log");
  EXPECT_TRUE(fs::exists(dir / "arr/manifest.sha256")) << "the merge step did not run";
  EXPECT_NE(read_bytes(dir / "arr/manifest.sha256").find("a/v.tif"), std::string::npos);
  EXPECT_TRUE(read_bytes(dir / "mpi/v.tif") == read_bytes(dir / "ref/a/v.tif"))
      << "the MPI job's output differs";
}

}  // namespace
