// ecology.fvc: NDVIsoil/NDVIveg equal numpy's percentiles of the valid NDVI (to the 1e-4 bins),
// and FVC equals the dimidiate model computed by numpy with those end-members.
#include <gtest/gtest.h>

#include <sstream>

#include "support/test_support.hpp"

using namespace qinling::test;

TEST(Fvc, PercentilesAndValuesEqualNumpy) {
  const std::string scene = sample_scene_dir() + "/scene_2024-07.tif";
  TempDir dir;
  write_text(dir / "job.yaml", "job: fvc\ninputs:\n  s: {path: " + scene +
                                   ", sensor: landsat89_c2l2, mask: [fill, cloud, dilated_cloud, shadow, snow]}\n"
                                   "steps:\n  - {id: ndvi, kind: index.ndvi, input: s}\n"
                                   "  - {id: fvc, kind: ecology.fvc, input: ndvi, soil_percentile: 5, veg_percentile: 95}\n"
                                   "outputs:\n  - {from: fvc, path: fvc.tif}\n");
  const auto r = run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "out") + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  write_text(dir / "ref.py", R"(
import sys, numpy as np
from osgeo import gdal
d = gdal.Open(sys.argv[1]); B = lambda i: d.GetRasterBand(i).ReadAsArray().astype(np.float64)
qa = d.GetRasterBand(8).ReadAsArray().astype(np.int64)
f32 = lambda x: x.astype(np.float32).astype(np.float64)
red, nir = f32(B(4) * 2.75e-5 - 0.2), f32(B(5) * 2.75e-5 - 0.2)
nd = f32((nir - red) / (nir + red)); nd[((qa & 0b111011) != 0) | (B(4) == 0) | (qa == 0)] = np.nan
soil, veg = np.nanpercentile(nd, [5, 95])
o = gdal.Open(sys.argv[2]); md = o.GetMetadata(); S, V = float(md['NDVI_SOIL']), float(md['NDVI_VEG'])
ref = np.clip((nd - S) / (V - S), 0, 1); x = o.ReadAsArray().astype(np.float64)
print(abs(S - soil), abs(V - veg), np.nanmax(np.abs(x - ref)), int((np.isnan(x) ^ np.isnan(ref)).sum()))
)");
  const auto ref = run_command("/usr/bin/python3 " + (dir / "ref.py") + " " + scene + " " + (dir / "out/fvc.tif"));
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  std::istringstream in(ref.output);
  double dsoil = 1, dveg = 1, dfvc = 1;
  long mismatched = -1;
  in >> dsoil >> dveg >> dfvc >> mismatched;
  EXPECT_LE(dsoil, 2e-4);
  EXPECT_LE(dveg, 2e-4);
  EXPECT_LE(dfvc, 1e-5);
  EXPECT_EQ(mismatched, 0);
}

// Per elevation zone: each zone's end-members are numpy's percentiles of the NDVI in that zone
// (np.digitize of the DEM by the limits), and FVC uses its own zone's pair.
TEST(Fvc, ElevationBandsEqualNumpyPerZone) {
  const std::string d = sample_scene_dir(), scene = d + "/scene_2024-07.tif";
  TempDir dir;
  write_text(dir / "job.yaml", "job: fvc\ninputs:\n  s: {path: " + scene +
                                   ", sensor: landsat89_c2l2, mask: [fill, cloud, dilated_cloud, shadow, snow]}\n"
                                   "  dem: {path: " + d + "/dem.tif}\n"
                                   "steps:\n  - {id: ndvi, kind: index.ndvi, input: s}\n"
                                   "  - {id: fvc, kind: ecology.fvc, input: ndvi, dem: dem, elevation_bands: [1000, 2000, 2600]}\n"
                                   "outputs:\n  - {from: fvc, path: fvc.tif}\n");
  const auto r = run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "out") + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  write_text(dir / "ref.py", R"(
import sys, numpy as np
from osgeo import gdal
d = gdal.Open(sys.argv[1]); B = lambda i: d.GetRasterBand(i).ReadAsArray().astype(np.float64)
dem_ds = gdal.Open(sys.argv[2]); dem = dem_ds.ReadAsArray().astype(np.float64)
qa = d.GetRasterBand(8).ReadAsArray().astype(np.int64)
f32 = lambda x: x.astype(np.float32).astype(np.float64)
red, nir = f32(B(4) * 2.75e-5 - 0.2), f32(B(5) * 2.75e-5 - 0.2)
nd = f32((nir - red) / (nir + red)); nd[((qa & 0b111011) != 0) | (B(4) == 0) | (qa == 0)] = np.nan
zone = np.digitize(dem, [1000, 2000, 2600])
o = gdal.Open(sys.argv[3]); md = o.GetMetadata(); x = o.ReadAsArray().astype(np.float64)
ref = np.full(nd.shape, np.nan); err = 0.0; counts = []
for k in range(4):
  m = (zone == k) & np.isfinite(nd); counts.append(int(m.sum()))
  soil, veg = np.nanpercentile(nd[m], [5, 95])
  S, V = float(md['NDVI_SOIL_ZONE%d' % k]), float(md['NDVI_VEG_ZONE%d' % k])
  err = max(err, abs(S - soil), abs(V - veg))
  ref[zone == k] = np.clip((nd[zone == k] - S) / (V - S), 0, 1)
print(err, np.nanmax(np.abs(x - ref)), int((np.isnan(x) ^ np.isnan(ref)).sum()), min(counts))
)");
  const auto ref = run_command("/usr/bin/python3 " + (dir / "ref.py") + " " + scene + " " + d + "/dem.tif " +
                               (dir / "out/fvc.tif"));
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  std::istringstream in(ref.output);
  double dend = 1, dfvc = 1;
  long mismatched = -1, smallest = 0;
  in >> dend >> dfvc >> mismatched >> smallest;
  EXPECT_LE(dend, 2e-4) << ref.output;
  EXPECT_LE(dfvc, 1e-5) << ref.output;
  EXPECT_EQ(mismatched, 0) << ref.output;
  EXPECT_GT(smallest, 1000) << "every zone should hold pixels: " << ref.output;
}
