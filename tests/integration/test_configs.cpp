// Every example job in configs/ is a test: demo.yaml runs end to end on the sample scene, and
// every other job validates. Jobs refer to ../sample/, so each runs from a copy beside a link.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_support.hpp"

using namespace qinling::test;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> config_jobs() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(fs::path(QINLING_SOURCE_DIR) / "configs"))
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
  }
};

}  // namespace

TEST_P(ConfigJob, Validates) {
  const auto r = run_qinling("validate " + job);
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_P(ConfigJob, DemoRunsEndToEnd) {
  if (GetParam() != "demo.yaml") GTEST_SKIP() << "only demo.yaml runs in full here";
  const auto r = run_qinling("run " + job + " --out " + (dir / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
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
  EXPECT_NE(r.output.find("wrote"), std::string::npos) << r.output;
}

INSTANTIATE_TEST_SUITE_P(Configs, ConfigJob, ::testing::ValuesIn(config_jobs()),
                         [](const auto& info) {
                           std::string n = info.param.substr(0, info.param.size() - 5);
                           for (auto& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });
