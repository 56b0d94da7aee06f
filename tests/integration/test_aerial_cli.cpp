// aerial.mosaic through the CLI on the sample frames: the example job's outputs (RGBA COG,
// footprints, ExG/VARI), corner accuracy read back from the GeoPackage by GDAL's Python bindings,
// alignment with the reference by phase correlation, thread-count independence, and bad frames.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <opencv2/imgproc.hpp>

#include "support/test_support.hpp"

using namespace qinling::test;
namespace fs = std::filesystem;

namespace {

struct AerialCli : ::testing::Test {
  TempDir dir;
  std::string aerial;
  void SetUp() override { aerial = sample_scene_dir() + "/aerial"; }

  std::string job(const std::string& frames, const std::string& step_extra,
                  const std::string& reference = "ortho") {
    return "job: aerial\ninputs:\n  frames: {path: " + frames + "}\n  ortho: {path: " + aerial +
           "/ortho_reference.tif}\nsteps:\n  - {id: mosaic, kind: aerial.mosaic, input: frames" +
           (reference.empty() ? "" : ", reference: " + reference) +
           ", sensor_width_mm: 6.4, flight_height_m: 2500" + step_extra +
           "}\noutputs:\n  - {from: mosaic, path: mosaic.tif, format: cog}\n  - {from: mosaic, path: "
           "footprints.gpkg, "
           "format: gpkg}\n";
  }
  CommandResult run(const std::string& yaml, const std::string& extra = "") {
    write_text(dir / "job.yaml", yaml);
    return run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "out") + " --store none " + extra);
  }
  // Corner RMSE (grid pixels) of the footprints of the sample frames against truth.json, and the
  // status of every feature, computed by GDAL's Python bindings (independent of our reader).
  CommandResult footprint_report() {
    const std::string py =
        "import json,math,sys\nfrom osgeo import ogr\n"
        "t=json.load(open(sys.argv[2]));gt=t['ortho_geotransform'];truth={f['file']:f for f in t['frames']}\n"
        "ds=ogr.Open(sys.argv[1]);lyr=ds.GetLayer('footprints');ss=0;n=0\n"
        "for f in lyr:\n"
        "  print('STATUS',f.GetField('frame'),f.GetField('status'),f.GetField('inliers'))\n"
        "  g=f.GetGeometryRef()\n"
        "  if f.GetField('frame') not in truth or g is None: continue\n"
        "  r=g.GetGeometryRef(0)\n"
        "  for k in range(4):\n"
        "    "
        "x=(r.GetX(k)-gt[0])/gt[1];y=(r.GetY(k)-gt[3])/gt[5];c=truth[f.GetField('frame')]['corners_px'][k]\n"
        "    ss+=(x-c[0])**2+(y-c[1])**2;n+=1\n"
        "print('RMSE %.4f N %d'%(math.sqrt(ss/n),n))\n";
    write_text(dir / "fp.py", py);
    return run_command("/usr/bin/python3 " + (dir / "fp.py") + " " + (dir / "out/footprints.gpkg") + " " +
                       aerial + "/truth.json");
  }
};

double rmse_of(const std::string& report) {
  const auto p = report.find("RMSE ");
  return p == std::string::npos ? 1e9 : std::stod(report.substr(p + 5));
}

cv::Mat grey(const std::string& path) {
  int w = 0, h = 0;
  cv::Mat g;
  for (int b = 1; b <= 3; ++b) {
    const auto v = read_band(path, b, &w, &h);
    if (g.empty()) g = cv::Mat(h, w, CV_64F, cv::Scalar(0));
    for (std::size_t i = 0; i < v.size(); ++i) g.at<double>(int(i) / w, int(i) % w) += v[i] / 3;
  }
  return g;
}

// Sub-pixel shift of the mosaic against the reference over the fully covered core.
cv::Point2d shift_against_reference(const std::string& mosaic, const std::string& reference) {
  const cv::Rect core(150, 200, 900, 450);  // inside every sample frame layout, away from the edges
  cv::Mat a = grey(mosaic)(core).clone(), b = grey(reference)(core).clone(), win;
  cv::createHanningWindow(win, a.size(), CV_64F);
  return cv::phaseCorrelate(b, a, win);
}

}  // namespace

TEST_F(AerialCli, MosaicIsRegisteredAlignedAndComplete) {
  const auto r = run(job("\"" + aerial + "/frame_*.jpg\"", ", indices: [exg, vari]"), "--threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto info = run_command("gdalinfo " + (dir / "out/mosaic.tif"));
  EXPECT_NE(info.output.find("LAYOUT=COG"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("ColorInterp=Alpha"), std::string::npos) << info.output;
  for (const char* f : {"out/mosaic_exg.tif", "out/mosaic_vari.tif"}) EXPECT_TRUE(fs::exists(dir / f)) << f;
  const auto fp = footprint_report();
  ASSERT_EQ(fp.exit_code, 0) << fp.output;
  EXPECT_EQ(fp.output.find(" dropped"), std::string::npos) << fp.output;
  EXPECT_NE(fp.output.find("N 24"), std::string::npos) << fp.output;
  EXPECT_LE(rmse_of(fp.output), 1.0) << fp.output;
  const auto shift = shift_against_reference(dir / "out/mosaic.tif", aerial + "/ortho_reference.tif");
  EXPECT_LT(std::hypot(shift.x, shift.y), 0.5) << shift;
  // One thread gives the same pixels.
  const auto two = read_band(dir / "out/mosaic.tif", 1);
  ASSERT_EQ(run(job("\"" + aerial + "/frame_*.jpg\"", ""), "--threads 1 --force").exit_code, 0);
  long mismatched = 0;
  EXPECT_EQ(max_abs_diff(two, read_band(dir / "out/mosaic.tif", 1), &mismatched), 0.0);
  EXPECT_EQ(mismatched, 0);
}

TEST_F(AerialCli, WithoutRegistrationTheMosaicIsOffByTensOfPixels) {
  // The check above can fail: the same frames placed by their (wrong) georeferences.
  const auto r = run(job("\"" + aerial + "/frame_*.jpg\"", ", registration: none"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_GT(rmse_of(footprint_report().output), 15.0);
}

TEST_F(AerialCli, BadFramesAreNamedAndTheOthersStillMosaic) {
  const fs::path f = dir / "frames";
  fs::create_directories(f);
  for (int i = 1; i <= 6; ++i)
    for (const char* ext : {".jpg", ".jgw", ".prj"}) {
      const fs::path src = aerial + "/frame_0" + std::to_string(i) + ext;
      if (fs::exists(src)) fs::copy_file(src, f / src.filename());
    }
  // A truncated JPEG (with a valid world file), a frame with no georeference, one far away.
  const std::string bytes = read_bytes(aerial + "/frame_01.jpg");
  write_text((f / "corrupt.jpg").string(), bytes.substr(0, bytes.size() / 3));
  fs::copy_file(aerial + "/frame_01.jgw", f / "corrupt.jgw");
  fs::copy_file(aerial + "/frame_02.jpg", f / "nogeo.jpg");
  fs::copy_file(aerial + "/frame_03.jpg", f / "faraway.jpg");
  std::ifstream in(aerial + "/frame_03.jgw");
  std::string wld, line;
  for (int k = 0; std::getline(in, line); ++k)
    wld += (k == 4 ? std::to_string(std::stod(line) + 200000.0) : line) + "\n";
  write_text((f / "faraway.jgw").string(), wld);
  fs::copy_file(aerial + "/frame_03.prj", f / "faraway.prj");

  const auto r = run(job("\"" + f.string() + "/*.jpg\"", ""));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* name : {"corrupt.jpg", "nogeo.jpg", "faraway.jpg"})
    EXPECT_NE(r.output.find(std::string(name) + ": dropped"), std::string::npos) << name << "\n" << r.output;
  EXPECT_NE(r.output.find("no georeference"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("outside the analysis grid"), std::string::npos) << r.output;
  const auto fp = footprint_report();
  EXPECT_LE(rmse_of(fp.output), 1.0) << fp.output;
  EXPECT_NE(fp.output.find("STATUS corrupt.jpg dropped"), std::string::npos) << fp.output;

  // Only bad frames: a clear error (exit 2), nothing written.
  fs::remove_all(dir / "out");
  const auto none = run(job("[\"" + f.string() + "/corrupt.jpg\", \"" + f.string() + "/nogeo.jpg\"]", ""));
  EXPECT_EQ(none.exit_code, 2) << none.output;
  EXPECT_NE(none.output.find("none of the 2 frames"), std::string::npos) << none.output;
  EXPECT_FALSE(fs::exists(dir / "out/mosaic.tif"));
}

TEST_F(AerialCli, JobMistakesAreReportedBeforeAnyWork) {
  auto r = run(job("\"" + aerial + "/nothing_*.jpg\"", ""));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no file matches"), std::string::npos) << r.output;
  write_text(dir / "job.yaml",
             "job: a\ninputs:\n  ortho: {path: " + aerial +
                 "/ortho_reference.tif}\nsteps:\n  - {id: m, kind: aerial.mosaic, input: ortho}\n"
                 "outputs:\n  - {from: m, path: m.tif}\n");
  r = run_qinling("validate " + (dir / "job.yaml"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("is not a frames input"), std::string::npos) << r.output;
}
