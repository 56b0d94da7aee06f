// Issue 3 steps through the CLI against independent references: every index equals numpy on the
// scaled, masked sample scene; slope and aspect equal gdaldem; sensor profile errors are clear.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "support/test_support.hpp"

using namespace qinling::test;

namespace {

const char* kIndexJob = R"(job: indices
inputs:
  scene: {path: SCENE, sensor: landsat89_c2l2, mask: [cloud, shadow, dilated_cloud]}
steps:
  - {id: ndvi, kind: index.ndvi, input: scene}
  - {id: evi, kind: index.evi, input: scene}
  - {id: savi, kind: index.savi, input: scene}
  - {id: msavi2, kind: index.msavi2, input: scene}
  - {id: ndwi, kind: index.ndwi, input: scene}
  - {id: mndwi, kind: index.mndwi, input: scene}
  - {id: nbr, kind: index.nbr, input: scene}
  - {id: ndbi, kind: index.ndbi, input: scene}
  - {id: ndbsi, kind: index.ndbsi, input: scene}
outputs:
)";

// numpy: reflectance = DN * 2.75e-5 - 0.2 held as float32 (our documented data model: bands are
// float32 after scaling), masked where DN is 0 or QA has bits 1, 3 or 4; indices in float64.
const char* kNumpyIndices = R"(
import sys, numpy as np
from osgeo import gdal
scene, out = sys.argv[1], sys.argv[2]
d = gdal.Open(scene)
dn = {i: d.GetRasterBand(i).ReadAsArray().astype(np.float64) for i in range(1, 8)}
qa = d.GetRasterBand(8).ReadAsArray().astype(np.int64)
bad = ((qa & 0b11010) != 0) | (qa == 0)
r = {k: (dn[i] * 2.75e-5 - 0.2).astype(np.float32).astype(np.float64) for k, i in (('blue', 2), ('green', 3), ('red', 4), ('nir', 5), ('swir1', 6), ('swir2', 7))}
for k, i in (('blue', 2), ('green', 3), ('red', 4), ('nir', 5), ('swir1', 6), ('swir2', 7)):
    r[k][(dn[i] == 0) | bad] = np.nan
b, g, red, nir, s1, s2 = (r[k] for k in ('blue', 'green', 'red', 'nir', 'swir1', 'swir2'))
with np.errstate(all='ignore'):
    si = ((s1 + red) - (nir + b)) / ((s1 + red) + (nir + b))
    x = 2 * s1 / (s1 + nir); y = nir / (nir + red) + g / (g + s1)
    idx = {
        'ndvi': (nir - red) / (nir + red), 'evi': 2.5 * (nir - red) / (nir + 6 * red - 7.5 * b + 1),
        'savi': 1.5 * (nir - red) / (nir + red + 0.5),
        'msavi2': (2 * nir + 1 - np.sqrt((2 * nir + 1) ** 2 - 8 * (nir - red))) / 2,
        'ndwi': (g - nir) / (g + nir), 'mndwi': (g - s1) / (g + s1), 'nbr': (nir - s2) / (nir + s2),
        'ndbi': (s1 - nir) / (s1 + nir), 'ndbsi': (si + (x - y) / (x + y)) / 2}
for k, v in idx.items():
    o = gdal.Open(f'{out}/{k}.tif').ReadAsArray().astype(np.float64)
    both = np.isfinite(o) & np.isfinite(v)
    rel = np.abs(o[both] - v[both]) / np.maximum(1.0, np.abs(v[both]))
    print(k, rel.max(), int((np.isfinite(o) ^ np.isfinite(v)).sum()), int(both.sum()))
)";

}  // namespace

TEST(EcologySteps, IndicesWithSensorScalingAndMaskEqualNumpy) {
  const std::string scene = sample_scene_dir() + "/scene_2024-07.tif";
  TempDir dir;
  std::string job = kIndexJob;
  job.replace(job.find("SCENE"), 5, scene);
  for (const char* k : {"ndvi", "evi", "savi", "msavi2", "ndwi", "mndwi", "nbr", "ndbi", "ndbsi"})
    job += std::string("  - {from: ") + k + ", path: " + k + ".tif, format: gtiff}\n";
  write_text(dir / "job.yaml", job);
  const auto r = run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "out") + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  write_text(dir / "ref.py", kNumpyIndices);
  const auto ref = run_command("/usr/bin/python3 " + (dir / "ref.py") + " " + scene + " " + (dir / "out"));
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  std::istringstream lines(ref.output);
  std::string name;
  double rel = 0;
  long mismatched = 0, compared = 0;
  int seen = 0;
  while (lines >> name >> rel >> mismatched >> compared) {
    ++seen;
    EXPECT_LE(rel, 1e-5) << name;
    EXPECT_EQ(mismatched, 0) << name << ": nodata differs from numpy";
    EXPECT_GT(compared, 100000) << name;
  }
  EXPECT_EQ(seen, 9) << ref.output;
}

TEST(EcologySteps, SlopeAndAspectEqualGdaldemAtAnyWindowPlan) {
  const std::string dem = sample_scene_dir() + "/dem.tif";
  TempDir dir;
  const std::string body = "inputs:\n  dem: {path: " + dem +
                           "}\nsteps:\n  - {id: slope, kind: terrain.slope, input: dem}\n"
                           "  - {id: aspect, kind: terrain.aspect, input: dem}\n"
                           "  - {id: hs, kind: terrain.hillshade, input: dem}\noutputs:\n"
                           "  - {from: slope, path: slope.tif, format: gtiff}\n"
                           "  - {from: aspect, path: aspect.tif, format: gtiff}\n"
                           "  - {from: hs, path: hs.tif, format: gtiff}\n";
  write_text(dir / "big.yaml", "job: terrain\n" + body);
  write_text(dir / "small.yaml", "job: terrain\nmemory_mb: 16\n" + body);  // many windows: halos matter
  ASSERT_EQ(run_qinling("run " + (dir / "big.yaml") + " --out " + (dir / "big") + " --quiet").exit_code, 0);
  const auto r = run_qinling("run " + (dir / "small.yaml") + " --out " + (dir / "small") + " --verbose");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find(" 1 windows"), std::string::npos) << "the small budget should split the raster";
  for (const char* f : {"slope.tif", "aspect.tif", "hs.tif"})
    EXPECT_TRUE(read_bytes(dir / (std::string("big/") + f)) == read_bytes(dir / (std::string("small/") + f))) << f;
  for (const char* k : {"slope", "aspect", "hillshade"})
    ASSERT_EQ(run_command(std::string("gdaldem ") + k + " -q " + dem + " " + (dir / k) + ".tif").exit_code, 0);
  int w = 0, h = 0;
  const auto check = [&](const std::string& ours, const std::string& ref, double tol, bool circular) {
    const auto a = read_band(ours, 1, &w, &h), b = read_band(ref, 1);
    double worst = 0;
    long mismatched = 0;
    for (int y = 1; y < h - 1; ++y)  // gdaldem leaves the outermost pixels nodata too
      for (int x = 1; x < w - 1; ++x) {
        const double p = a[size_t(y) * w + x], q = b[size_t(y) * w + x];
        if (std::isfinite(p) != std::isfinite(q)) ++mismatched;
        if (!std::isfinite(p) || !std::isfinite(q)) continue;
        double d = std::abs(p - q);
        if (circular) d = std::min(d, 360 - d);
        worst = std::max(worst, d);
      }
    EXPECT_LE(worst, tol) << ours;
    EXPECT_EQ(mismatched, 0) << ours;
  };
  check(dir / "small/slope.tif", dir / "slope.tif", 0.01, false);
  check(dir / "small/aspect.tif", dir / "aspect.tif", 0.01, true);
  check(dir / "small/hs.tif", dir / "hillshade.tif", 1.0, false);  // gdaldem stores bytes
}

TEST(EcologySteps, SensorProfileErrorsAreClear) {
  const std::string scene = sample_scene_dir() + "/scene_2024-07.tif";
  TempDir dir;
  const auto job = [&](const std::string& input) {
    return "job: s\ninputs:\n  scene: {path: " + scene + ", " + input +
           "}\nsteps:\n  - {id: ndvi, kind: index.ndvi, input: scene}\noutputs:\n  - {from: ndvi, path: n.tif}\n";
  };
  const auto expect_error = [&](const std::string& input, const std::string& needle) {
    write_text(dir / "j.yaml", job(input));
    const auto r = run_qinling("validate " + (dir / "j.yaml"));
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
  };
  expect_error("sensor: sentinel2_l2a", "describes a stack of 7 bands but");
  expect_error("sensor: landsat89_c2l2, mask: [cloud, smoke]", "'smoke' is not a flag");
  expect_error("sensor: landsat89_c2l2, bands: {red: 4, nir: 5}, mask: [cloud]", "needs the quality band 'qa'");
  expect_error("sensor: landsat99", "unknown sensor 'landsat99'");
  expect_error("bands: {red: 4, nir: 5}, mask: [cloud]", "needs a `sensor:` profile");
}
