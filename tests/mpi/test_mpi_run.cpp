// `mpirun -n N qinling run`: the same bytes as one process for 1, 2 and 4 ranks; one rank
// failing stops all with one message; a killed rank's job resumes from its checkpoint.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <regex>

#include "mpi/mpi_support.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using namespace qinling::test;

namespace {

const std::vector<std::string> kOutputs = {"ndvi.tif", "slope.tif", "ndwi.tif"};

// NDVI (COG), a focal step with a halo (COG) and band math (tiled GeoTIFF) on a 900² grid,
// cut into 4 windows by a small memory budget.
std::string job_text(const std::string& scene_dir) {
  return "job: mpi\ngrid: {crs: EPSG:4547, resolution: 20}\ninputs:\n"
         "  scene: {path: " +
         scene_dir +
         "/scene_2024-07.tif, bands: {red: 4, nir: 5, green: 3}}\n"
         "  dem: {path: " +
         scene_dir +
         "/dem.tif}\n"
         "steps:\n"
         "  - {id: ndvi, kind: index.ndvi, input: scene}\n"
         "  - {id: slope, kind: terrain.slope, input: dem}\n"
         "  - {id: ndwi, kind: raster.calc, input: scene, expression: \"(green - nir) / (green + nir)\"}\n"
         "outputs:\n"
         "  - {from: ndvi, path: ndvi.tif, format: cog}\n"
         "  - {from: slope, path: slope.tif, format: cog}\n"
         "  - {from: ndwi, path: ndwi.tif, format: gtiff}\n";
}

class MpiRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    write_text(*dir_ / "job.yaml", job_text(sample_scene_dir()));
    const auto r = run_qinling("run " + (*dir_ / "job.yaml") + " --out " + (*dir_ / "ref") + " --quiet");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string args(const std::string& out) {
    return " run " + (*dir_ / "job.yaml") + " --out " + (*dir_ / out) + " --memory-mb 16 --threads 1";
  }
  static void expect_same_as_reference(const std::string& out) {
    for (const auto& f : kOutputs) {
      const std::string ref = read_bytes(*dir_ / ("ref/" + f));
      ASSERT_GT(ref.size(), 1000u);
      EXPECT_TRUE(read_bytes(*dir_ / (out + "/" + f)) == ref)
          << out << "/" << f << " differs from the single-process run";
    }
  }
  static TempDir* dir_;
};
TempDir* MpiRun::dir_ = nullptr;

TEST_F(MpiRun, OneTwoAndFourRanksWriteTheBytesOfOneProcess) {
  for (int ranks : {1, 2, 4}) {
    const std::string out = "np" + std::to_string(ranks);
    const auto r = run_command(mpirun(ranks) + QINLING_BIN + args(out));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    expect_same_as_reference(out);
    EXPECT_FALSE(fs::exists(*dir_ / (out + "/.qinling-checkpoint"))) << "checkpoint left after success";
    // Only rank 0 speaks: one summary line, not one per rank.
    const std::regex done("job 'mpi' done in");
    EXPECT_EQ(
        std::distance(std::sregex_iterator(r.output.begin(), r.output.end(), done), std::sregex_iterator()),
        1)
        << r.output;
  }
}

TEST_F(MpiRun, AnInputMissingOnOneRankStopsEveryRankWithOneMessage) {
  // Rank 1 reads the job from a "node" where the scene is not mounted.
  write_text(*dir_ / "nodeB.yaml", job_text((*dir_ / "nowhere")));
  const std::string cmd = mpirun(2) +
                          "sh -c 'if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then j=" + (*dir_ / "nodeB.yaml") +
                          "; else j=" + (*dir_ / "job.yaml") + "; fi; exec " + QINLING_BIN +
                          " run $j --out " + (*dir_ / "missing") + "'";
  const auto r = run_command("timeout 60 " + cmd);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  const std::regex msg("rank 1 of 2: ");
  EXPECT_EQ(
      std::distance(std::sregex_iterator(r.output.begin(), r.output.end(), msg), std::sregex_iterator()), 1)
      << r.output;
  EXPECT_NE(r.output.find("no such file"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nowhere/scene_2024-07.tif"), std::string::npos) << r.output;
  for (const auto& f : kOutputs) EXPECT_FALSE(fs::exists(*dir_ / ("missing/" + f)));
}

TEST_F(MpiRun, AKilledRankEndsTheJobAndTheRerunResumesWithTheSameBytes) {
  // Rank 1 kills itself (SIGKILL) once its first window is journaled.
  const std::string env =
      "QINLING_CHECKPOINT_SYNC_MS=0 QINLING_TEST_KILL_AFTER_WINDOWS=1 QINLING_TEST_KILL_RANK=1 ";
  auto r = run_command("timeout 60 env " + env + mpirun(2) + QINLING_BIN + args("killed"));
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("signal 9"), std::string::npos) << r.output;
  for (const auto& f : kOutputs)
    EXPECT_FALSE(fs::exists(*dir_ / ("killed/" + f))) << f << " published by a killed job";
  ASSERT_TRUE(fs::exists(*dir_ / "killed/.qinling-checkpoint"));

  r = run_command("timeout 60 " + mpirun(2) + QINLING_BIN + args("killed"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("checkpoint: (\\d+) of (\\d+) windows already done")))
      << r.output;
  EXPECT_GE(std::stoi(m[1]), 1);
  EXPECT_LT(std::stoi(m[1]), std::stoi(m[2]));
  expect_same_as_reference("killed");
  EXPECT_FALSE(fs::exists(*dir_ / "killed/.qinling-checkpoint"));
}

}  // namespace
