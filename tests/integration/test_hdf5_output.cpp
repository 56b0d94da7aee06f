// `format: hdf5` outputs: the cube's values equal the GeoTIFF output of the same steps (read
// independently with h5py and GDAL's Python bindings), its CF attributes and coordinates are
// present, gdalinfo and h5dump open it, and bad options are configuration errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "support/test_support.hpp"

using namespace qinling::test;
namespace fs = std::filesystem;

namespace {

// Two NDVI layers (2023, 2024) as GeoTIFFs and as one cube: "ndvi" over time, "ndvi_2024" 2-D.
std::string cube_job(const std::string& scenes, const std::string& extra_outputs = "") {
  return "job: cube\ninputs:\n"
         "  a: {path: " + scenes + "/scene_2023-07.tif, bands: {red: 4, nir: 5}}\n"
         "  b: {path: " + scenes + "/scene_2024-07.tif, bands: {red: 4, nir: 5}}\n"
         "steps:\n"
         "  - {id: ndvi23, kind: index.ndvi, input: a}\n"
         "  - {id: ndvi24, kind: index.ndvi, input: b}\n"
         "outputs:\n"
         "  - {from: ndvi23, path: ndvi23.tif, format: gtiff}\n"
         "  - {from: ndvi24, path: ndvi24.tif, format: gtiff}\n"
         "  - {from: ndvi24, path: cube.h5, format: hdf5, options: {variable: ndvi, time: 2024-07-01, units: '1',"
         " long_name: normalized difference vegetation index, chunk: 128}}\n"
         "  - {from: ndvi23, path: cube.h5, format: hdf5, options: {variable: ndvi, time: 2023-07-01, units: '1',"
         " long_name: normalized difference vegetation index, chunk: 128}}\n"
         "  - {from: ndvi24, path: cube.h5, format: hdf5, options: {variable: ndvi_2024}}\n" +
         extra_outputs;
}

const char* kCheck = R"PY(
import sys, h5py, numpy as np
from osgeo import gdal
d = sys.argv[1]
f = h5py.File(d + '/cube.h5', 'r')
ref23 = gdal.Open(d + '/ndvi23.tif'); ref24 = gdal.Open(d + '/ndvi24.tif')
a23 = ref23.ReadAsArray(); a24 = ref24.ReadAsArray()
v = f['ndvi']
assert v.shape == (2,) + a24.shape, v.shape
assert v.dtype == np.float32
assert v.chunks == (1, 128, 128), v.chunks
assert v.compression == 'gzip' and v.shuffle
np.testing.assert_array_equal(v[0], a23)   # sorted by time: 2023 first
np.testing.assert_array_equal(v[1], a24)
np.testing.assert_array_equal(f['ndvi_2024'][:], a24)
assert f['ndvi_2024'].ndim == 2
assert np.isnan(v[0]).sum() == np.isnan(a23).sum()
def s(x): return x.decode() if isinstance(x, bytes) else str(x)
assert s(v.attrs['units']) == '1'
assert s(v.attrs['long_name']) == 'normalized difference vegetation index'
assert s(v.attrs['grid_mapping']) == 'crs'
assert np.isnan(v.attrs['_FillValue'][0])
assert list(f['time'][:]) == [19539.0, 19905.0], list(f['time'][:])   # days since 1970-01-01
assert s(f['time'].attrs['units']).startswith('days since 1970-01-01')
gt = ref24.GetGeoTransform()
np.testing.assert_allclose(f['x'][:], gt[0] + (np.arange(a24.shape[1]) + 0.5) * gt[1])
np.testing.assert_allclose(f['y'][:], gt[3] + (np.arange(a24.shape[0]) + 0.5) * gt[5])
assert s(f['x'].attrs['units']) == 'm'
crs = f['crs'].attrs
assert s(crs['epsg_code']) == 'EPSG:4547', s(crs['epsg_code'])
from osgeo import osr
a = osr.SpatialReference(); a.ImportFromWkt(s(crs['crs_wkt']))
b = osr.SpatialReference(); b.ImportFromWkt(ref24.GetProjection())
assert a.IsSame(b)
np.testing.assert_allclose(crs['geotransform'], gt)
# dimension scales attached: h5py sees the coordinate of each axis
assert v.dims[0][0].name == '/time' and v.dims[1][0].name == '/y' and v.dims[2][0].name == '/x'
g = gdal.Open('HDF5:"' + d + '/cube.h5"://ndvi')
assert (g.RasterXSize, g.RasterYSize, g.RasterCount) == (a24.shape[1], a24.shape[0], 2)
# GDAL's netCDF driver reads the CF grid mapping and coordinates: georeferenced like the GeoTIFF
n = gdal.Open('NETCDF:"' + d + '/cube.h5":ndvi')
np.testing.assert_allclose(n.GetGeoTransform(), gt)
assert osr.SpatialReference(wkt=n.GetProjection()).IsSame(b)
np.testing.assert_array_equal(n.GetRasterBand(1).ReadAsArray(), a23)
print('OK')
)PY";

}  // namespace

TEST(Hdf5Output, CubeEqualsGeoTiffWithAttributes) {
  TempDir dir;
  write_text(dir / "job.yaml", cube_job(sample_scene_dir()));
  const auto r = run_qinling("run " + (dir / "job.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  write_text(dir / "check.py", kCheck);
  const auto py = run_command("/usr/bin/python3 " + (dir / "check.py") + " " + dir.path().string());
  EXPECT_EQ(py.exit_code, 0) << py.output;
  EXPECT_NE(py.output.find("OK"), std::string::npos) << py.output;

  const auto info = run_command("gdalinfo 'HDF5:\"" + (dir / "cube.h5") + "\"://ndvi_2024'");
  ASSERT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("Size is 600, 600"), std::string::npos) << info.output;
  const auto dump = run_command("h5dump -H -A " + (dir / "cube.h5"));
  ASSERT_EQ(dump.exit_code, 0) << dump.output;
  EXPECT_NE(dump.output.find("DATASET \"ndvi\""), std::string::npos);
  EXPECT_NE(dump.output.find("Conventions"), std::string::npos);
  // No temporary file left behind.
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().find(".partial"), std::string::npos) << e.path();
}

TEST(Hdf5Output, BadOptionsAreConfigErrors) {
  const std::string scenes = sample_scene_dir();
  const std::string base = "job: bad\ninputs:\n  b: {path: " + scenes +
                           "/scene_2024-07.tif, bands: {red: 4, nir: 5}}\nsteps:\n"
                           "  - {id: ndvi, kind: index.ndvi, input: b}\n  - {id: ndvi2, kind: index.ndvi, input: b}\n"
                           "outputs:\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"  - {from: ndvi, path: c.h5, format: hdf5, options: {COMPRESS: DEFLATE}}\n", "options.COMPRESS"},
      {"  - {from: ndvi, path: c.h5, format: hdf5, options: {time: 2024-13-01}}\n", "options.time"},
      {"  - {from: ndvi, path: c.h5, format: hdf5, options: {deflate: '11'}}\n", "options.deflate"},
      {"  - {from: ndvi, path: c.h5, format: hdf5, options: {variable: 2x}}\n", "options.variable"},
      {"  - {from: ndvi, path: c.h5, format: hdf5, options: {variable: v}}\n"
       "  - {from: ndvi2, path: c.h5, format: hdf5, options: {variable: v}}\n",
       "distinct `time:`"},
      {"  - {from: ndvi, path: c.h5, format: gtiff}\n  - {from: ndvi2, path: c.h5, format: hdf5}\n",
       "written by two outputs"},
  };
  for (const auto& [outputs, expected] : cases) {
    TempDir dir;
    write_text(dir / "job.yaml", base + outputs);
    const auto r = run_qinling("run " + (dir / "job.yaml"));
    EXPECT_EQ(r.exit_code, 2) << outputs << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << outputs << r.output;
    EXPECT_FALSE(fs::exists(dir / "c.h5")) << outputs;
  }
}
