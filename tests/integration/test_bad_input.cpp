// Bad input through the CLI: exit code 2, a message naming the file or key, earlier output kept.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/test_support.hpp"

using namespace qinling::test;
namespace fs = std::filesystem;

namespace {

struct BadInput : ::testing::Test {
  TempDir dir;
  std::string scene;
  void SetUp() override {
    scene = sample_scene_dir() + "/scene_2024-07.tif";
    write_text(dir / "good.yaml", job(scene, "red: 4, nir: 5", "index.ndvi", "input: scene"));
    const auto r = run_qinling("run " + (dir / "good.yaml") + " --out " + (dir / "out") + " --quiet");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    earlier = read_bytes(dir / "out/ndvi.tif");
  }
  static std::string job(const std::string& path, const std::string& bands, const std::string& kind,
                         const std::string& step_opts, const std::string& out = "ndvi.tif") {
    return "job: bad\ninputs:\n  scene: {path: " + path + ", bands: {" + bands + "}}\nsteps:\n  - {id: ndvi, kind: " +
           kind + ", " + step_opts + "}\noutputs:\n  - {from: ndvi, path: " + out + ", format: cog}\n";
  }
  // Runs `yaml` with --out dir/out; expects exit 2, `needle` in the message, ndvi.tif untouched.
  void expect_rejected(const std::string& yaml, const std::string& needle) {
    write_text(dir / "bad.yaml", yaml);
    const auto r = run_qinling("run " + (dir / "bad.yaml") + " --out " + (dir / "out"));
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << "message does not name '" << needle << "':\n" << r.output;
    EXPECT_TRUE(read_bytes(dir / "out/ndvi.tif") == earlier) << "the earlier output changed";
    for (const auto& e : fs::directory_iterator(dir / "out"))
      EXPECT_EQ(e.path().filename().string().find(".partial"), std::string::npos) << "left " << e.path();
  }
  std::string earlier;
};

}  // namespace

TEST_F(BadInput, TruncatedGeoTiff) {
  // Keep the header and the first tiles only, as a broken download would.
  const std::string bytes = read_bytes(scene);
  write_text(dir / "cut.tif", bytes.substr(0, bytes.size() / 3));
  expect_rejected(job(dir / "cut.tif", "red: 4, nir: 5", "index.ndvi", "input: scene"), "cut.tif");
}

TEST_F(BadInput, BandNameThatDoesNotExist) {
  expect_rejected(job(scene, "red: 4, nir: 5", "index.ndvi", "input: scene, nir: nir2"), "nir2");
}

TEST_F(BadInput, BandNumberThatDoesNotExist) {
  expect_rejected(job(scene, "red: 4, nir: 12", "index.ndvi", "input: scene"), "band 12 does not exist");
}

TEST_F(BadInput, MissingFile) {
  expect_rejected(job(dir / "nowhere.tif", "red: 4, nir: 5", "index.ndvi", "input: scene"), "nowhere.tif: no such file");
}

TEST_F(BadInput, MisspelledKey) {
  expect_rejected(job(scene, "red: 4, nir: 5", "index.ndvi", "inptu: scene"), "inptu");
}

TEST_F(BadInput, UnknownStepKind) {
  expect_rejected(job(scene, "red: 4, nir: 5", "index.ndiv", "input: scene"), "index.ndiv");
}

TEST_F(BadInput, OutputThatOverwritesItsInput) {
  fs::copy_file(scene, dir / "out/scene.tif");
  expect_rejected(job(dir / "out/scene.tif", "red: 4, nir: 5", "index.ndvi", "input: scene", "scene.tif"),
                  "would be overwritten");
}

TEST_F(BadInput, NotAGeoTiffAtAll) {
  write_text(dir / "junk.tif", "this is not a raster");
  expect_rejected(job(dir / "junk.tif", "red: 4, nir: 5", "index.ndvi", "input: scene"), "junk.tif");
}

TEST_F(BadInput, ValidateReportsWithoutRunning) {
  write_text(dir / "v.yaml", job(scene, "red: 4, nir: 5", "index.ndvi", "inptu: scene"));
  const auto r = run_qinling("validate " + (dir / "v.yaml"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("v.yaml:5"), std::string::npos) << r.output;
  write_text(dir / "g.yaml", job(scene, "red: 4, nir: 5", "index.ndvi", "input: scene"));
  EXPECT_EQ(run_qinling("validate " + (dir / "g.yaml")).exit_code, 0);
}
