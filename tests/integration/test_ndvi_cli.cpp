// End to end through the CLI: NDVI equals gdal_calc.py, any window plan and thread count gives
// the same bytes, inputs on another grid equal gdalwarp, bad input exits 2 and keeps old outputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "support/test_support.hpp"

using namespace qinling::test;
namespace fs = std::filesystem;

namespace {

std::string ndvi_job(const std::string& scene, const std::string& extra = "") {
  return "job: ndvi-test\n" + extra + "inputs:\n  scene: {path: " + scene +
         ", bands: {red: 4, nir: 5}}\nsteps:\n  - {id: ndvi, kind: index.ndvi, input: scene}\n"
         "outputs:\n  - {from: ndvi, path: ndvi.tif, format: cog}\n";
}

// gdal_calc.py's NDVI (float64 arithmetic, float32 result) of bands red/nir of `scene`. Its nodata
// is -9999, not NaN: gdal_calc 3.6 blends nodata as result*0 + nodata*1, which turns every pixel
// into NaN when the output nodata is NaN and the inputs have a nodata value.
std::string gdal_calc_ndvi(const TempDir& dir, const std::string& scene, int red, int nir) {
  const std::string ref = dir / "ref.tif";
  const auto r = run_command("gdal_calc.py --quiet --overwrite -A " + scene + " --A_band=" + std::to_string(red) +
                             " -B " + scene + " --B_band=" + std::to_string(nir) +
                             " --type=Float32 --NoDataValue=-9999 --calc='(B.astype(float)-A)/(B.astype(float)+A)' "
                             "--outfile=" + ref);
  if (r.exit_code != 0) throw std::runtime_error("gdal_calc.py failed: " + r.output);
  return ref;
}

void expect_same_as_reference(const std::string& ours, const std::string& ref, double tol) {
  const auto a = read_band(ours, 1);
  const auto b = read_band(ref, 1);
  long mismatched = 0;
  const double d = max_abs_diff(a, b, &mismatched);
  EXPECT_LE(d, tol);
  // Nodata must match pixel for pixel (input nodata, and 0/0 which numpy makes NaN).
  long finite = 0;
  for (double x : a) finite += std::isfinite(x);
  EXPECT_GT(finite, long(a.size() / 2)) << "most pixels should be valid";
  EXPECT_EQ(mismatched, 0) << "nodata differs from gdal_calc.py in " << mismatched << " pixels";
}

}  // namespace

TEST(NdviCli, SampleSceneEqualsGdalCalc) {
  const std::string scene = sample_scene_dir() + "/scene_2024-07.tif";
  TempDir dir;
  write_text(dir / "job.yaml", ndvi_job(scene));
  const auto r = run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "out") + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_same_as_reference(dir / "out/ndvi.tif", gdal_calc_ndvi(dir, scene, 4, 5), 1e-6);
  const auto v = run_command("/usr/bin/python3 /usr/lib/python3/dist-packages/osgeo_utils/samples/"
                             "validate_cloud_optimized_geotiff.py " + (dir / "out/ndvi.tif"));
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

TEST(NdviCli, RealLandsat7EqualsGdalCalc) {
  const std::string data = real_data_dir();
  if (data.empty()) GTEST_SKIP() << "QINLING_REAL_DATA not set";
  const std::string l7 = data + "/multispectral/stars_L7_ETMs/L7_ETMs.tif";
  if (!fs::exists(l7)) GTEST_SKIP() << l7 << " not present";
  TempDir dir;
  write_text(dir / "job.yaml", "job: l7\ninputs:\n  l7: {path: " + l7 +
                                   ", bands: {red: 3, nir: 4}}\nsteps:\n  - {id: ndvi, kind: index.ndvi, input: l7}\n"
                                   "outputs:\n  - {from: ndvi, path: ndvi.tif, format: cog}\n");
  const auto r = run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "out") + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_same_as_reference(dir / "out/ndvi.tif", gdal_calc_ndvi(dir, l7, 3, 4), 1e-6);
}

TEST(NdviCli, SameBytesForAnyWindowPlanAndThreadCount) {
  const std::string scene = sample_scene_dir() + "/scene_2024-07.tif";
  TempDir dir;
  write_text(dir / "job.yaml", ndvi_job(scene));
  write_text(dir / "small.yaml", ndvi_job(scene, "memory_mb: 16\n"));
  const std::string job = dir / "job.yaml";
  ASSERT_EQ(run_qinling("run " + job + " --out " + (dir / "t1") + " --threads 1 --quiet").exit_code, 0);
  ASSERT_EQ(run_qinling("run " + job + " --out " + (dir / "t2") + " --threads 2 --quiet").exit_code, 0);
  // memory_mb 16 with 2 threads: a 600² scene is split into many single-block windows.
  const auto many = run_qinling("run " + (dir / "small.yaml") + " --out " + (dir / "many") + " --threads 2 --verbose");
  ASSERT_EQ(many.exit_code, 0) << many.output;
  EXPECT_EQ(many.output.find(" 1 windows"), std::string::npos) << many.output;
  const std::string a = read_bytes(dir / "t1/ndvi.tif");
  ASSERT_GT(a.size(), 1000u);
  EXPECT_TRUE(a == read_bytes(dir / "t2/ndvi.tif")) << "--threads 1 and 2 differ";
  EXPECT_TRUE(a == read_bytes(dir / "many/ndvi.tif")) << "many windows and one window differ";
}

// gdalwarp's result for downsampling kernels depends on how it chunks the destination, so the
// reference is gdalwarp to a VRT (block-wise, the same path a warped VRT takes), read back by
// gdal_translate; the direct gdalwarp result is checked too, loosely.
TEST(NdviCli, InputOnAnotherGridEqualsGdalwarp) {
  const std::string scene = sample_scene_dir() + "/scene_2024-07.tif";
  TempDir dir;
  // UTM 49N at 45 m: every pixel is resampled from the Gauss-Kruger scene.
  const std::string job = "job: warp\ngrid: {crs: EPSG:32649, resolution: 45}\ninputs:\n  scene: {path: " + scene +
                          ", bands: {red: 4}, resampling: bilinear}\nsteps:\n"
                          "  - {id: red, kind: raster.calc, input: scene, expression: red}\n"
                          "outputs:\n  - {from: red, path: red.tif, format: gtiff}\n";
  write_text(dir / "job.yaml", job);
  write_text(dir / "small.yaml", "memory_mb: 16\n" + job);
  auto r = run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "out") + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_qinling("run " + (dir / "small.yaml") + " --out " + (dir / "small") + " --quiet --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(read_bytes(dir / "out/red.tif") == read_bytes(dir / "small/red.tif")) << "warped values depend on windows";
  const auto info = run_command("/usr/bin/python3 -c \"from osgeo import gdal; d=gdal.Open('" + (dir / "out/red.tif") +
                                "'); g=d.GetGeoTransform(); print(g[0], g[3]+g[5]*d.RasterYSize, g[0]+g[1]*d.RasterXSize, g[3], "
                                "d.RasterXSize, d.RasterYSize)\"");
  ASSERT_EQ(info.exit_code, 0) << info.output;
  std::istringstream in(info.output);
  std::string xmin, ymin, xmax, ymax, w, h;
  in >> xmin >> ymin >> xmax >> ymax >> w >> h;
  ASSERT_EQ(run_command("gdal_translate -q -of VRT -b 4 " + scene + " " + (dir / "red.vrt")).exit_code, 0);
  const std::string warp = "gdalwarp -q -overwrite -t_srs EPSG:32649 -r bilinear -ot Float32 -dstnodata nan -et 0 -te " +
                           xmin + " " + ymin + " " + xmax + " " + ymax + " -ts " + w + " " + h + " " + (dir / "red.vrt");
  ASSERT_EQ(run_command(warp + " -of VRT " + (dir / "ref.vrt")).exit_code, 0);
  ASSERT_EQ(run_command("gdal_translate -q " + (dir / "ref.vrt") + " " + (dir / "ref.tif")).exit_code, 0);
  ASSERT_EQ(run_command(warp + " " + (dir / "direct.tif")).exit_code, 0);
  const auto a = read_band(dir / "out/red.tif", 1), b = read_band(dir / "ref.tif", 1), c = read_band(dir / "direct.tif", 1);
  long mismatched = 0;
  EXPECT_LE(max_abs_diff(a, b, &mismatched), 1e-3);
  EXPECT_EQ(mismatched, 0) << "nodata footprint differs from gdalwarp";
  std::vector<double> d;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::isfinite(a[i]) && std::isfinite(c[i])) d.push_back(std::abs(a[i] - c[i]));
  ASSERT_FALSE(d.empty());
  std::nth_element(d.begin(), d.begin() + long(d.size() / 2), d.end());
  EXPECT_LT(d[d.size() / 2], 5.0) << "median |diff| against direct gdalwarp (DN of ~8000)";
}
