// Mosaic inputs (`scenes:` + `mosaic:`): three synthetic Landsat C2 L2 stacks with clouds, shadow
// and nodata in different places (one on another grid and CRS), NDVI of the mosaic compared with a numpy
// reference applying the same rule to GDAL-warped scenes; all-cloud pixels, bad scenes.
#include <gtest/gtest.h>

#include <sstream>

#include "support/test_support.hpp"

using namespace qinling::test;

namespace {

// a.tif, b.tif (same 40x30 grid, UTM 49N) and c.tif (10 pixels east, 30x30, then reprojected to
// EPSG:4326); 8 bands, QA in band 8
// (bit 3 cloud, bit 4 shadow, 64 clear); bad.tif has 7 bands.
void write_scenes(const TempDir& dir) {
  write_text(dir / "make.py", R"(
import sys, os, numpy as np
from osgeo import gdal, osr
d = sys.argv[1]
srs = osr.SpatialReference(); srs.ImportFromEPSG(32649)
def scene(name, s, x0, w, h=30, bands=8, geographic=False):
    drv = gdal.GetDriverByName('MEM' if geographic else 'GTiff')
    ds = drv.Create('' if geographic else os.path.join(d, name), w, h, bands, gdal.GDT_UInt16)
    ds.SetGeoTransform([400000 + 30 * x0, 30, 0, 3800000, 0, -30]); ds.SetProjection(srs.ExportToWkt())
    y, x = np.mgrid[0:h, 0:w]; x = x + x0
    red = 10000 + (x * 7 + y * 13 + s * 101) % 3000
    nir = 20000 + (x * 11 + y * 5 + s * 37) % 5000
    qa = np.full((h, w), 64)
    if s == 0:
        qa[(x < 15) & (y < 20)] |= 8
        red[(x >= 30) & (x < 35) & (y >= 20) & (y < 25)] = 0   # nodata red under a clear QA
    if s == 1:
        qa[(x >= 10) & (x <= 25) & (y < 15)] |= 8
        qa[(x <= 5) & (y >= 25)] |= 16
    if s == 2:
        qa[(x >= 8) & (x < 18) & (y < 11)] |= 8
    for b in range(1, bands + 1):
        a = {4: red, 5: nir, 8: qa}.get(b, np.full((h, w), 9000))
        ds.GetRasterBand(b).WriteArray(a.astype(np.uint16)); ds.GetRasterBand(b).SetNoDataValue(0)
    if geographic:  # another CRS: lon/lat, nearest so QA stays bit flags
        gdal.Warp(os.path.join(d, name), ds, dstSRS='EPSG:4326', resampleAlg='near', format='GTiff')
    ds = None
scene('a.tif', 0, 0, 40); scene('b.tif', 1, 0, 40); scene('c.tif', 2, 10, 30, geographic=True)
scene('bad.tif', 1, 0, 40, bands=7)
)");
  const auto r = run_command("/usr/bin/python3 " + (dir / "make.py") + " " + dir.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

// Prints "max_abs_diff nan_mismatches nan_in_all_cloud_block" for the rule.
const char* kReference = R"(
import sys, os, numpy as np
from osgeo import gdal
d, rule, out = sys.argv[1], sys.argv[2], sys.argv[3]
g = gdal.Open(os.path.join(d, 'a.tif')); gt = g.GetGeoTransform(); W, H = g.RasterXSize, g.RasterYSize
bounds = (gt[0], gt[3] + H * gt[5], gt[0] + W * gt[1], gt[3])
def band(name, b, alg):
    one = gdal.Translate('', os.path.join(d, name), format='VRT', bandList=[b])
    w = gdal.Warp('', one, format='MEM', dstSRS=g.GetProjection(), outputBounds=bounds, width=W, height=H,
                  resampleAlg=alg, outputType=gdal.GDT_Float32, dstNodata=float('nan'), errorThreshold=0)
    return w.GetRasterBand(1).ReadAsArray().astype(np.float64)
scenes = []
for name in ['a.tif', 'b.tif', 'c.tif']:
    red = band(name, 4, 'bilinear') * 0.0000275 - 0.2
    nir = band(name, 5, 'bilinear') * 0.0000275 - 0.2
    qa = band(name, 8, 'near')
    masked = np.isnan(qa) | ((np.nan_to_num(qa).astype(np.int64) & (8 | 16)) != 0)
    clear = ~np.isnan(qa) & ~masked
    red[masked] = np.nan; nir[masked] = np.nan
    scenes.append((red, nir, clear.mean()))
order = list(range(3))
if rule == 'best_quality':
    order = sorted(order, key=lambda i: (-scenes[i][2], i))
ref = np.full((H, W), np.nan)
for i in reversed(order):   # the first scene in the order wins: paint it last
    red, nir, _ = scenes[i]
    ok = ~np.isnan(red) & ~np.isnan(nir)
    ref[ok] = ((nir - red) / (nir + red))[ok]
x = gdal.Open(out).ReadAsArray().astype(np.float64)
both = ~np.isnan(x) & ~np.isnan(ref)
print(np.abs(x - ref)[both].max(), int((np.isnan(x) != np.isnan(ref)).sum()), int(np.isnan(x[0:8, 10:15]).sum()))
)";

std::string job(const std::string& scenes, const std::string& rule) {
  return "job: mosaic\ninputs:\n  summer: {scenes: [" + scenes +
         "], sensor: landsat89_c2l2, mask: [cloud, shadow], mosaic: " + rule +
         "}\nsteps:\n  - {id: ndvi, kind: index.ndvi, input: summer}\noutputs:\n  - {from: ndvi, path: "
         "ndvi.tif}\n";
}

}  // namespace

TEST(MosaicInput, NdviOfEachRuleEqualsNumpyReference) {
  TempDir dir;
  write_scenes(dir);
  write_text(dir / "ref.py", kReference);
  std::vector<double> first;
  for (const std::string rule : {"first_valid", "best_quality"}) {
    write_text(dir / (rule + ".yaml"), job("a.tif, b.tif, c.tif", rule));
    const std::string out = dir / ("out_" + rule);
    const auto r = run_qinling("run " + (dir / (rule + ".yaml")) + " --out " + out + " --quiet");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto ref = run_command("/usr/bin/python3 " + (dir / "ref.py") + " " + dir.path().string() + " " +
                                 rule + " " + out + "/ndvi.tif");
    ASSERT_EQ(ref.exit_code, 0) << ref.output;
    std::istringstream s(ref.output);
    double diff = 1;
    long nan_mismatch = -1, nan_block = -1;
    s >> diff >> nan_mismatch >> nan_block;
    EXPECT_LE(diff, 1e-5) << rule << ": " << ref.output;
    EXPECT_EQ(nan_mismatch, 0) << rule << ": " << ref.output;
    EXPECT_EQ(nan_block, 40) << rule << ": the all-cloud block must be nodata";
    const auto v = read_band(out + "/ndvi.tif", 1);
    if (first.empty()) {
      first = v;
    } else {
      // b.tif is clearer than a.tif, so best_quality prefers it: the two rules differ.
      EXPECT_GT(max_abs_diff(first, v, nullptr), 1e-3);
    }
  }
}

TEST(MosaicInput, SceneWithWrongBandCountNamesTheFile) {
  TempDir dir;
  write_scenes(dir);
  write_text(dir / "job.yaml", job("a.tif, bad.tif", "first_valid"));
  const auto r = run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "out") + " --quiet");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("bad.tif has 7"), std::string::npos) << r.output;
}

TEST(MosaicInput, BadKeysAreConfigErrors) {
  TempDir dir;
  write_scenes(dir);
  write_text(dir / "job.yaml",
             "job: m\ninputs:\n  s: {scenes: [a.tif], path: b.tif, mosaic: newest}\n"
             "  t: {path: a.tif, mosaic: first_valid}\nsteps:\n  - {id: ndvi, kind: index.ndvi, input: s}\n"
             "outputs:\n  - {from: ndvi, path: ndvi.tif}\n");
  const auto r = run_qinling("validate " + (dir / "job.yaml"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("give either `path` or `scenes`"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("unknown rule 'newest'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("inputs.t.mosaic: needs a list of files under `scenes:`"), std::string::npos)
      << r.output;
}
