// Input forms for the ecology steps: bands from HDF5 subdatasets (a NetCDF-4 file, which is HDF5,
// checked against h5py reading the raw arrays), an HDF5 subdataset without georeferencing, and
// the clear errors of extra_bands and index.tasseled_cap.
#include <gtest/gtest.h>

#include <sstream>

#include "support/test_support.hpp"

using namespace qinling::test;

namespace {
void write_nc4(const TempDir& dir) {
  write_text(dir / "make.py", R"(
import sys, numpy as np, h5py
from osgeo import gdal, osr
ds = gdal.GetDriverByName('MEM').Create('', 30, 40, 2, gdal.GDT_Float32)
ds.SetGeoTransform([500000, 30, 0, 3800000, 0, -30])
s = osr.SpatialReference(); s.ImportFromEPSG(4547); ds.SetProjection(s.ExportToWkt())
ds.GetRasterBand(1).WriteArray((np.arange(1200).reshape(40, 30) % 97 + 10).astype(np.float32))
ds.GetRasterBand(2).WriteArray((np.arange(1200).reshape(40, 30) % 89 + 50).astype(np.float32))
gdal.Translate(sys.argv[1], ds, format='netCDF', creationOptions=['FORMAT=NC4']); ds = None
with h5py.File(sys.argv[2], 'w') as f: f.create_dataset('bands/red', data=np.ones((40, 30), np.float32))
assert h5py.is_hdf5(sys.argv[1])
)");
  const auto r = run_command("/usr/bin/python3 " + (dir / "make.py") + " " + (dir / "bands.nc") + " " +
                             (dir / "raw.h5"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
}
}  // namespace

TEST(EcologyInputs, Hdf5SubdatasetBandsEqualH5py) {
  TempDir dir;
  write_nc4(dir);
  const std::string nc = dir / "bands.nc";
  write_text(dir / "job.yaml", "job: h5\ninputs:\n  s: {path: 'NETCDF:\"" + nc +
                                   "\":Band1', bands: {red: 1, nir: 'NETCDF:\"" + nc +
                                   "\":Band2'}}\nsteps:\n  - {id: ndvi, kind: index.ndvi, input: s}\n"
                                   "outputs:\n  - {from: ndvi, path: ndvi.tif}\n");
  const auto r = run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "out") + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The reference reads the arrays with h5py (no GDAL); netCDF stores rows south-up for GDAL's
  // north-up view, so compare both orientations and take the matching one.
  write_text(dir / "ref.py", R"(
import sys, numpy as np, h5py
from osgeo import gdal
with h5py.File(sys.argv[1], 'r') as f: red = f['Band1'][()].astype(np.float64); nir = f['Band2'][()].astype(np.float64)
ref = ((nir - red) / (nir + red)).astype(np.float32).astype(np.float64)
o = gdal.Open(sys.argv[2]); x = o.ReadAsArray().astype(np.float64)
print(min(np.abs(x - ref).max(), np.abs(x - ref[::-1]).max()))
)");
  const auto ref =
      run_command("/usr/bin/python3 " + (dir / "ref.py") + " " + nc + " " + (dir / "out/ndvi.tif"));
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  EXPECT_LE(std::stod(ref.output), 1e-7) << ref.output;
}

TEST(EcologyInputs, Hdf5WithoutGeoreferencingIsAClearError) {
  TempDir dir;
  write_nc4(dir);
  const std::string sub = "HDF5:\"" + (dir / "raw.h5") + "\"://bands/red";
  write_text(dir / "job.yaml", "job: h5\ninputs:\n  s: {path: '" + sub +
                                   "', bands: {red: 1, nir: 1}}\n"
                                   "steps:\n  - {id: ndvi, kind: index.ndvi, input: s}\n"
                                   "outputs:\n  - {from: ndvi, path: ndvi.tif}\n");
  const auto r = run_qinling("validate " + (dir / "job.yaml"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("raw.h5"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("coordinate reference system"), std::string::npos) << r.output;
}

TEST(EcologyInputs, ExtraBandsAndTasseledCapErrorsNameTheProblem) {
  const std::string d = sample_scene_dir();
  TempDir dir;
  write_text(dir / "job.yaml",
             "job: bad\ninputs:\n  s: {path: " + d +
                 "/scene_2024-07.tif, sensor: landsat89_c2l2, extra_bands: {red: " + d +
                 "/scene_2024-07_ST_B10.tif}}\n  plain: {path: " + d +
                 "/scene_2024-07.tif}\nsteps:\n  - {id: w, kind: index.tasseled_cap, input: plain}\n"
                 "  - {id: lst, kind: ecology.lst, input: s}\noutputs:\n  - {from: w, path: w.tif}\n");
  const auto r = run_qinling("validate " + (dir / "job.yaml"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("inputs.s.extra_bands.red: the input already has a band 'red'"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("has no `sensor:` profile"), std::string::npos) << r.output;
  // ecology.lst's default band `thermal` is not there when extra_bands failed to add it.
  EXPECT_NE(r.output.find("no band named 'thermal'"), std::string::npos) << r.output;
}
