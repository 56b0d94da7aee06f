// configs/vegetation_watch.yaml recovers the sample scene's known changes (intersection over union
// against the generator's truth.json), and temporal composites equal numpy.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "support/test_support.hpp"

using namespace qinling::test;
namespace fs = std::filesystem;

TEST(ChangeDetection, VegetationWatchRecoversKnownChanges) {
  TempDir dir;
  fs::create_directories(dir / "configs");
  fs::create_symlink(sample_scene_dir(), dir / "sample");
  fs::copy_file(fs::path(QINLING_SOURCE_DIR) / "configs/vegetation_watch.yaml", dir / "configs/vw.yaml");
  const auto r = run_qinling("run " + (dir / "configs/vw.yaml") + " --out " + (dir / "out") + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  write_text(dir / "iou.py", R"(
import json, sys, numpy as np
from osgeo import gdal
d = sys.argv[1]
t = json.load(open(d + '/sample/truth.json')); n = t['size']
yy, xx = np.mgrid[0:n, 0:n]
def truth(c):
    w = c['window']
    if c['shape'] == 'rectangle':
        return (xx >= w['x']) & (xx < w['x'] + w['width']) & (yy >= w['y']) & (yy < w['y'] + w['height'])
    px, py = c['centre_px']
    return (xx + 0.5 - px) ** 2 + (yy + 0.5 - py) ** 2 <= c['radius_px'] ** 2
layer = {'forest_clearing': 'vegetation_loss', 'burn_scar': 'burn_scar', 'new_reservoir': 'new_water'}
for c in t['changes']:
    found = gdal.Open(f"{d}/out/{layer[c['kind']]}.tif").ReadAsArray() == 1
    m = truth(c)
    print(c['kind'], (found & m).sum() / (found | m).sum(), int(m.sum()))
)");
  const auto iou = run_command("/usr/bin/python3 " + (dir / "iou.py") + " " + dir.path().string());
  ASSERT_EQ(iou.exit_code, 0) << iou.output;
  std::istringstream lines(iou.output);
  std::string kind;
  double value = 0;
  long pixels = 0;
  int seen = 0;
  while (lines >> kind >> value >> pixels) {
    ++seen;
    EXPECT_GE(value, 0.8) << kind;
    EXPECT_GT(pixels, 100) << kind;
  }
  EXPECT_EQ(seen, 3) << iou.output;
}

TEST(ChangeDetection, CompositesEqualNumpy) {
  const std::string s = sample_scene_dir();
  TempDir dir;
  std::string job = "job: comp\ninputs:\n";
  for (const char* d : {"2023-07", "2024-07"})
    job += std::string("  d") + d[3] + ": {path: " + s + "/scene_" + d +
           ".tif, sensor: landsat89_c2l2, mask: [fill, cloud, dilated_cloud, shadow]}\n";
  job += "steps:\n";
  for (const char* k : {"median", "mean", "max", "count"})
    job += std::string("  - {id: ") + k + ", kind: composite." + k + ", input: [d3, d4], band: nir}\n";
  job += "outputs:\n";
  for (const char* k : {"median", "mean", "max", "count"})
    job += std::string("  - {from: ") + k + ", path: " + k + ".tif, format: gtiff}\n";
  write_text(dir / "job.yaml", job);
  const auto r = run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "out") + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  write_text(dir / "ref.py", R"(
import sys, numpy as np, warnings
from osgeo import gdal
s, o = sys.argv[1], sys.argv[2]
stack = []
for d in ('2023-07', '2024-07'):
    ds = gdal.Open(f'{s}/scene_{d}.tif')
    dn = ds.GetRasterBand(5).ReadAsArray().astype(np.float64); qa = ds.GetRasterBand(8).ReadAsArray().astype(np.int64)
    v = (dn * 2.75e-5 - 0.2).astype(np.float32).astype(np.float64)
    v[(dn == 0) | ((qa & 0b11011) != 0) | (qa == 0)] = np.nan
    stack.append(v)
a = np.array(stack)
warnings.simplefilter('ignore')
ref = {'median': np.nanmedian(a, 0), 'mean': np.nanmean(a, 0), 'max': np.nanmax(a, 0), 'count': np.isfinite(a).sum(0).astype(float)}
for k, v in ref.items():
    x = gdal.Open(f'{o}/{k}.tif').ReadAsArray().astype(np.float64)
    both = np.isfinite(x) & np.isfinite(v)
    print(k, np.abs(x[both] - v[both]).max(), int((np.isfinite(x) ^ np.isfinite(v)).sum()))
)");
  const auto ref = run_command("/usr/bin/python3 " + (dir / "ref.py") + " " + s + " " + (dir / "out"));
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  std::istringstream lines(ref.output);
  std::string kind;
  double diff = 0;
  long mismatched = 0;
  int seen = 0;
  while (lines >> kind >> diff >> mismatched) {
    ++seen;
    EXPECT_LE(diff, 1e-6) << kind;
    EXPECT_EQ(mismatched, 0) << kind;
  }
  EXPECT_EQ(seen, 4) << ref.output;
}
