// change.mmu (minimum mapping unit): patches removed exactly as scipy.ndimage.label with an 8-
// connected structure finds them, per class value, on a noisy class raster spanning two block rows.
#include <gtest/gtest.h>

#include <sstream>

#include "support/test_support.hpp"

using namespace qinling::test;

TEST(ChangeMmu, EqualsScipyLabelPerClass) {
  TempDir dir;
  // Classes 0..3 in clumps (a coarse random field plus pixel noise) and a few NaN pixels; 700 rows
  // so patches cross the 512-row strip boundary.
  write_text(dir / "make.py", R"(
import sys, numpy as np
from osgeo import gdal, osr
rng = np.random.default_rng(7)
h, w = 700, 300
coarse = rng.integers(0, 4, size=(h // 7 + 1, w // 7 + 1)).repeat(7, 0).repeat(7, 1)[:h, :w]
noise = rng.random((h, w))
a = np.where(noise < 0.25, rng.integers(0, 4, size=(h, w)), coarse).astype(np.float32)
a[rng.random((h, w)) < 0.01] = np.nan
ds = gdal.GetDriverByName('GTiff').Create(sys.argv[1], w, h, 1, gdal.GDT_Float32)
ds.SetGeoTransform([500000, 30, 0, 3800000, 0, -30])
s = osr.SpatialReference(); s.ImportFromEPSG(4547); ds.SetProjection(s.ExportToWkt())
b = ds.GetRasterBand(1); b.SetNoDataValue(float('nan')); b.WriteArray(a); ds = None
)");
  ASSERT_EQ(run_command("/usr/bin/python3 " + (dir / "make.py") + " " + (dir / "classes.tif")).exit_code, 0);
  write_text(dir / "job.yaml",
             "job: mmu\ninputs:\n  c: {path: " + (dir / "classes.tif") +
                 "}\nsteps:\n  - {id: cls, kind: raster.calc, input: [c], expression: b1}\n"
                 "  - {id: mmu, kind: change.mmu, input: cls, min_pixels: 9}\n"
                 "  - {id: mmu_nd, kind: change.mmu, input: cls, min_pixels: 9, replace: nodata}\n"
                 "outputs:\n  - {from: mmu, path: mmu.tif}\n  - {from: mmu_nd, path: mmu_nd.tif}\n");
  const auto r = run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "out") + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  write_text(dir / "ref.py", R"(
import sys, numpy as np
from osgeo import gdal
from scipy import ndimage
src = gdal.Open(sys.argv[1]); a = src.ReadAsArray().astype(np.float64)
ref = a.copy(); ref_nd = a.copy(); removed = 0
for v in (1, 2, 3):
  lab, n = ndimage.label(a == v, structure=np.ones((3, 3)))
  sizes = np.bincount(lab.ravel()); small = (sizes < 9); small[0] = False
  m = small[lab]; ref[m] = 0; ref_nd[m] = np.nan; removed += int(m.sum())
o1 = gdal.Open(sys.argv[2]); x = o1.ReadAsArray().astype(np.float64)
o2 = gdal.Open(sys.argv[3]); y = o2.ReadAsArray().astype(np.float64)
same = lambda p, q: int(((p != q) & ~(np.isnan(p) & np.isnan(q))).sum())
print(same(x, ref), same(y, ref_nd), removed)
)");
  const auto ref = run_command("/usr/bin/python3 " + (dir / "ref.py") + " " + (dir / "classes.tif") + " " +
                               (dir / "out/mmu.tif") + " " + (dir / "out/mmu_nd.tif"));
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  std::istringstream in(ref.output);
  long diff = -1, diff_nd = -1, removed = 0;
  in >> diff >> diff_nd >> removed;
  EXPECT_EQ(diff, 0) << ref.output;
  EXPECT_EQ(diff_nd, 0) << ref.output;
  EXPECT_GT(removed, 1000) << "the test raster should have many small patches: " << ref.output;
}
