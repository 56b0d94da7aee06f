// met.regrid against independent references: gdalwarp on the same grids (bilinear, cubic,
// nearest), an analytic field read from 0–360° and −180–180° global grids (also across the
// Greenwich seam of a 0–360° grid), and the precipitation volume kept by the conservative method
// (totals computed with numpy on cell areas on the sphere, tests/data/regrid_reference.py).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "support/test_support.hpp"

using namespace qinling::test;
namespace fs = std::filesystem;

namespace {

const std::string kScript =
    std::string("/usr/bin/python3 ") + QINLING_SOURCE_DIR + "/tests/data/regrid_reference.py ";

std::string python(const std::string& args) {
  const auto r = run_command(kScript + args);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.output;
}

// A job regridding `source` with each method onto `grid`, one COG per method.
void run_regrid(const TempDir& dir, const std::string& grid, const std::string& source,
                const std::vector<std::string>& methods, const std::string& extra = "") {
  std::string job = "job: regrid\ngrid: " + grid + "\ninputs:\n  src: {path: " + source + "}\nsteps:\n";
  std::string outs = "outputs:\n";
  for (const auto& m : methods) {
    job += "  - {id: " + m + ", kind: met.regrid, source: src, method: " + m + extra + "}\n";
    outs += "  - {from: " + m + ", path: " + m + ".tif}\n";
  }
  write_text(dir / "job.yaml", job + outs);
  const auto r = run_qinling("run " + (dir / "job.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

// 2.5 km cells over the Qinling (105–111°E, 32–35°N) in the sample scene's CRS, CGCS2000 / GK CM 114E.
const std::string kQinling =
    "{crs: EPSG:4547, resolution: 2500, extent: [-320000, 3560000, 200000, 3920000]}";

}  // namespace

TEST(MetRegrid, MatchesGdalwarpOnTheSameGrids) {
  TempDir dir;
  python("make " + dir.path().string());
  run_regrid(dir, kQinling, "smooth.tif", {"bilinear", "cubic", "nearest"});
  for (const std::string m : {"bilinear", "cubic", "near"}) {
    const std::string ref = dir / ("gdal_" + m + ".tif");
    const auto r =
        run_command("gdalwarp -q -overwrite -et 0 -r " + m +
                    " -t_srs EPSG:4547 -te -320000 3560000 200000 3920000 -tr 2500 2500 -ot Float32 " +
                    (dir / "smooth.tif") + " " + ref);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const std::string ours = dir / ((m == "near" ? std::string("nearest") : m) + ".tif");
    const std::string out = python("compare " + ours + " " + ref);
    EXPECT_LT(field(out, "MAXDIFF"), m == "near" ? 1e-5 : 1e-4) << m << ": " << out;
    EXPECT_EQ(field(out, "NANMISMATCH"), 0) << m << ": " << out;
  }
}

TEST(MetRegrid, GlobalGridsInBothLongitudeConventionsAndAcrossTheSeam) {
  TempDir dir;
  python("make " + dir.path().string());
  // The 0.5° field is smooth: bilinear is within h²/8 × |f''| ≈ 2e-4 of the analytic value.
  run_regrid(dir, kQinling, "global360.tif", {"bilinear", "cubic"});
  EXPECT_LT(field(python("analytic " + (dir / "bilinear.tif")), "MAXDIFF"), 5e-4);
  EXPECT_LT(field(python("analytic " + (dir / "cubic.tif")), "MAXDIFF"), 5e-4);
  // Around Greenwich, where a 0–360° grid has its seam: no NaN, no jump.
  const std::string seam = "{crs: EPSG:4326, resolution: 0.07, extent: [-3.01, 40.02, 3.02, 44.01]}";
  for (const std::string src : {"global360.tif", "global180.tif"}) {
    TempDir sub;
    run_regrid(sub, seam, dir / src, {"bilinear", "conservative"});
    const std::string out = python("analytic " + (sub / "bilinear.tif"));
    EXPECT_LT(field(out, "MAXDIFF"), 5e-4) << src << ": " << out;
    EXPECT_EQ(field(out, "NAN"), 0) << src << ": " << out;
    // First-order conservative: each sub-cell takes its source cell's value, within h/2 × |∇f|
    // (h = 0.5°) of the point value.
    EXPECT_LT(field(python("analytic " + (sub / "conservative.tif")), "MAXDIFF"), 0.04) << src;
    fs::copy_file(sub / "conservative.tif", dir / (src + ".cons.tif"));
  }
  // Both longitude conventions give the same cells.
  const std::string same =
      python("compare " + (dir / "global360.tif.cons.tif") + " " + (dir / "global180.tif.cons.tif"));
  EXPECT_LT(field(same, "MAXDIFF"), 1e-6) << same;
}

TEST(MetRegrid, ConservativeKeepsThePrecipitationTotal) {
  TempDir dir;
  python("make " + dir.path().string());
  // Projected target (Gauss–Krüger cells are not equal-area on the sphere) and a geographic one
  // whose cells are not aligned with the 0.25° source.
  run_regrid(dir, kQinling, "rain360.tif", {"conservative", "bilinear"});
  std::string out = python("total " + (dir / "rain360.tif") + " " + (dir / "conservative.tif"));
  EXPECT_LT(std::abs(field(out, "RELERR")), 0.005) << out;
  EXPECT_EQ(field(out, "NAN"), 0) << out;
  TempDir geo;
  run_regrid(geo, "{crs: EPSG:4326, resolution: 0.07, extent: [104.03, 31.51, 111.98, 35.73]}",
             dir / "rain360.tif", {"conservative"}, ", samples: 3");
  out = python("total " + (dir / "rain360.tif") + " " + (geo / "conservative.tif"));
  EXPECT_LT(std::abs(field(out, "RELERR")), 0.005) << out;
}

TEST(MetRegrid, RejectsAStepAsSource) {
  TempDir dir;
  write_text(dir / "job.yaml",
             "job: bad\ninputs:\n  dem: {path: " + sample_scene_dir() +
                 "/dem.tif}\nsteps:\n  - {id: a, kind: raster.calc, input: dem, expression: b1}\n"
                 "  - {id: r, kind: met.regrid, source: a, method: cubic}\n"
                 "outputs:\n  - {from: r, path: r.tif}\n");
  const auto r = run_qinling("validate " + (dir / "job.yaml"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("already on the analysis grid"), std::string::npos) << r.output;
}

TEST(MetRegrid, BilinearMatchesCdoRemapbil) {
  if (run_command("command -v cdo").exit_code != 0) GTEST_SKIP() << "cdo is not installed (scripts/setup.sh)";
  TempDir dir;
  python("make " + dir.path().string());
  // A 0.1° lon/lat target whose centres fall between the 0.5° source centres: cdo's bilinear weights
  // are in lon/lat, like ours and GDAL's for a lon/lat source.
  const std::string grid = "{crs: EPSG:4326, resolution: 0.1, extent: [103, 30, 113, 37]}";
  run_regrid(dir, grid, dir / "global180.tif", {"bilinear"});
  write_text(dir / "grid.txt", "gridtype = lonlat\nxsize = 100\nysize = 70\nxfirst = 103.05\nxinc = 0.1\n"
                               "yfirst = 36.95\nyinc = -0.1\n");
  auto r = run_command("gdal_translate -q -of netCDF " + (dir / "global180.tif") + " " + (dir / "src.nc"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_command("cdo -s -O remapbil," + (dir / "grid.txt") + " " + (dir / "src.nc") + " " +
                  (dir / "cdo.nc"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string out = python("compare " + (dir / "bilinear.tif") + " " + (dir / "cdo.nc"));
  EXPECT_LT(field(out, "MAXDIFF"), 1e-4) << out;
  EXPECT_EQ(field(out, "NANMISMATCH"), 0) << out;
}

TEST(MetRegrid, SameCellsForAnyThreadCount) {
  TempDir dir;
  python("make " + dir.path().string());
  // Rows are split across TBB tasks and each row's coordinates interpolated between PROJ knots:
  // neither may depend on how many threads run.
  for (const char* threads : {"1", "2"}) {
    TempDir out;
    write_text(out / "job.yaml",
               "job: regrid\ngrid: " + kQinling + "\ninputs:\n  src: {path: " + (dir / "rain360.tif") +
                   "}\nsteps:\n  - {id: b, kind: met.regrid, source: src, method: bilinear}\n"
                   "  - {id: c, kind: met.regrid, source: src, method: conservative}\n"
                   "outputs:\n  - {from: b, path: b.tif}\n  - {from: c, path: c.tif}\n");
    const auto r = run_qinling("run " + (out / "job.yaml") + " --threads " + threads);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    for (const char* f : {"b.tif", "c.tif"}) fs::copy_file(out / f, dir / (std::string(threads) + f));
  }
  for (const char* f : {"b.tif", "c.tif"}) {
    const std::string out =
        python("compare " + (dir / (std::string("1") + f)) + " " + (dir / (std::string("2") + f)));
    EXPECT_EQ(field(out, "MAXDIFF"), 0) << f << ": " << out;
    EXPECT_EQ(field(out, "NANMISMATCH"), 0) << f << ": " << out;
  }
}

// Product rasters (here met.regrid) go into an HDF5 cube like per-pixel layers: a step with only an
// `hdf5` output is written through a work layer, and the cube equals the GeoTIFF of the same step.
TEST(MetRegrid, Hdf5CubeOfRegriddedFields) {
  TempDir dir;
  python("make " + dir.path().string());
  const std::string grid = "{crs: EPSG:4326, resolution: 0.1, extent: [103, 30, 113, 37]}";
  write_text(dir / "job.yaml",
             "job: cube\ngrid: " + grid + "\ninputs:\n  t: {path: " + (dir / "global180.tif") +
                 "}\n  rain: {path: " + (dir / "rain360.tif") +
                 "}\nsteps:\n"
                 "  - {id: t12, kind: met.regrid, source: t, method: bilinear}\n"
                 "  - {id: t18, kind: met.regrid, source: t, method: cubic}\n"
                 "  - {id: t18_tif, kind: met.regrid, source: t, method: cubic}\n"
                 "  - {id: tp, kind: met.regrid, source: rain, method: conservative}\n"
                 "outputs:\n"
                 "  - {from: t12, path: t12.tif}\n"
                 "  - {from: t12, path: fc.h5, format: hdf5, options: {variable: t2m, units: degC, time: "
                 "2026-07-01T12:00Z}}\n"
                 "  - {from: t18, path: fc.h5, format: hdf5, options: {variable: t2m, units: degC, time: "
                 "2026-07-01T18:00Z}}\n"
                 "  - {from: t18_tif, path: t18.tif}\n"
                 "  - {from: tp, path: fc.h5, format: hdf5, options: {variable: tp, units: mm}}\n"
                 "  - {from: tp, path: rain.tif, format: gtiff}\n");
  const auto r = run_qinling("run " + (dir / "job.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  write_text(dir / "check.py", R"PY(
import sys, h5py, numpy as np
from osgeo import gdal
d = sys.argv[1]
f = h5py.File(d + '/fc.h5', 'r')
t12 = gdal.Open(d + '/t12.tif').ReadAsArray(); t18 = gdal.Open(d + '/t18.tif').ReadAsArray()
rain = gdal.Open(d + '/rain.tif').ReadAsArray()
v = f['t2m']
assert v.shape == (2, 70, 100), v.shape
np.testing.assert_array_equal(v[0], t12)
np.testing.assert_array_equal(v[1], t18)
assert not np.array_equal(t12, t18)
np.testing.assert_allclose(f['time'][:], [20635.5, 20635.75])
np.testing.assert_array_equal(f['tp'][:], rain)
assert f['tp'].attrs['units'] in (b'mm', 'mm')
np.testing.assert_allclose(f['x'][:], 103.05 + 0.1 * np.arange(100))
print('OK')
)PY");
  const auto py = run_command("/usr/bin/python3 " + (dir / "check.py") + " " + dir.path().string());
  EXPECT_EQ(py.exit_code, 0) << py.output;
  EXPECT_NE(py.output.find("OK"), std::string::npos) << py.output;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    const std::string name = e.path().filename().string();
    EXPECT_EQ(name.find(".qinling-work"), std::string::npos) << name;
    EXPECT_EQ(name.find(".partial"), std::string::npos) << name;
  }

  // One file holds either per-pixel layers or product rasters.
  write_text(dir / "mixed.yaml",
             "job: mixed\ngrid: " + grid + "\ninputs:\n  t: {path: " + (dir / "global180.tif") +
                 "}\nsteps:\n  - {id: a, kind: raster.calc, input: t, expression: b1}\n"
                 "  - {id: b, kind: met.regrid, source: t}\noutputs:\n"
                 "  - {from: a, path: m.h5, format: hdf5}\n  - {from: b, path: m.h5, format: hdf5}\n");
  const auto bad = run_qinling("run " + (dir / "mixed.yaml"));
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("mixes per-pixel layers and product rasters"), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(dir / "m.h5"));
}
