// Weather inputs beyond plain grids: HDF5 satellite products written by the tests to the published
// layouts (GPM IMERG stored (time, lon, lat); FY-4A AGRI L1 in its geostationary projection, checked
// pixel by pixel against the CGMS LRIT/HRIT formulas computed in numpy), accumulated totals
// differenced into period totals, and precipitation-rate units.
#include <gtest/gtest.h>

#include <string>

#include "support/test_support.hpp"

using namespace qinling::test;

namespace {

const std::string kPython = "/usr/bin/python3 ";
const std::string kImerg = "3B-HHR.MS.MRG.3IMERG.20260701-S060000-E062959.0360.V07B.HDF5";
const std::string kAgri =
    "FY4A-_AGRI--_N_REGC_1047E_L1-_FDI-_MULT_NOM_20260701060000_20260701061459_4000M_V0001.HDF";

std::string run_py(const std::string& args) {
  const auto r = run_command(kPython + QINLING_SOURCE_DIR + "/tests/data/" + args);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.output;
}

// max |raster − expr(lon, lat)| over cell centres of a lon/lat raster, and its NaN count.
std::string diff_to(const std::string& tif, const std::string& expr) {
  const std::string code =
      "from osgeo import gdal; import numpy as np\nds = gdal.Open('" + tif +
      "'); a = ds.GetRasterBand(1).ReadAsArray().astype(float); gt = ds.GetGeoTransform()\n"
      "r, c = np.mgrid[0:a.shape[0], 0:a.shape[1]]; lon = gt[0] + (c + .5) * gt[1]; lat = gt[3] + (r + .5) * "
      "gt[5]\n"
      "print('MAXDIFF %.9g NAN %d' % (np.nanmax(np.abs(a - (" +
      expr + "))), int(np.isnan(a).sum())))\n";
  const auto r = run_command(kPython + "-c \"" + code + "\"");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.output;
}

}  // namespace

TEST(MetSatellite, AgriGeostationaryGridMatchesTheCgmsFormulas) {
  TempDir dir;
  run_py("make_satellite.py make " + dir.path().string());
  write_text(dir / "job.yaml",
             "job: agri\ngrid: {crs: EPSG:4326, resolution: 0.05, extent: [105.5, 32, 110.5, 35]}\n"
             "inputs:\n"
             "  col: {path: " +
                 kAgri +
                 ", select: {variable: NOMChannel01}}\n"
                 "  lin: {path: " +
                 kAgri +
                 ", select: {variable: NOMChannel02}}\n"
                 "steps:\n"
                 "  - {id: c, kind: met.regrid, source: col, method: nearest}\n"
                 "  - {id: l, kind: met.regrid, source: lin, method: nearest}\n"
                 "outputs:\n  - {from: c, path: c.tif}\n  - {from: l, path: l.tif}\n");
  const auto r = run_qinling("run " + (dir / "job.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Each cell holds the full-disk column/line of the AGRI pixel it falls in; a half-pixel slip in
  // COFF/LOFF or the sweep axis would move about half of them.
  const std::string out = run_py("make_satellite.py agri " + (dir / "c.tif") + " " + (dir / "l.tif"));
  EXPECT_EQ(field(out, "CELLS"), 6000) << out;
  EXPECT_EQ(field(out, "MISMATCH"), 0) << out;
  EXPECT_EQ(field(out, "NAN"), 0) << out;
}

TEST(MetSatellite, ImergLonLatOrderIsTransposed) {
  TempDir dir;
  run_py("make_satellite.py make " + dir.path().string());
  write_text(dir / "job.yaml",
             "job: imerg\ngrid: {crs: EPSG:4326, resolution: 0.05, extent: [105.5, 32, 110.5, 35]}\n"
             "inputs:\n"
             "  p: {path: " +
                 kImerg +
                 ", select: {variable: precipitation}, units: mm/d}\n"
                 "steps:\n"
                 "  - {id: warped, kind: raster.calc, input: p, expression: value}\n"
                 "  - {id: regrid, kind: met.regrid, source: p, method: bilinear}\n"
                 "outputs:\n  - {from: warped, path: w.tif}\n  - {from: regrid, path: r.tif}\n");
  const auto r = run_qinling("run " + (dir / "job.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // precipitation = 0.5 (lon − 100) + 2 (lat − 28) mm/hr, linear, so bilinear is exact; × 24 for mm/d.
  for (const std::string f : {"w.tif", "r.tif"}) {
    const std::string out = diff_to(dir / f, "24 * (0.5 * (lon - 100) + 2 * (lat - 28))");
    EXPECT_LT(field(out, "MAXDIFF"), 1e-3) << f << ": " << out;
    EXPECT_EQ(field(out, "NAN"), 0) << f << ": " << out;
  }
}

TEST(MetSatellite, AccumulatedTotalsBecomePeriodTotalsAndRatesConvert) {
  TempDir dir;
  run_py("make_accumulations.py " + dir.path().string());
  write_text(dir / "job.yaml",
             "job: periods\ngrid: {crs: EPSG:4326, resolution: 0.25, extent: [101, 29, 115, 39]}\n"
             "inputs:\n"
             "  p6_12: {path: apcp.grib2, select: {element: APCP, period: [6h, 12h]}, units: mm}\n"
             "  p12_24: {path: apcp.grib2, select: {element: APCP, period: [12, 24]}}\n"
             "  p0_12: {path: apcp.grib2, select: {element: APCP, period: [0h, 12h]}}\n"
             "  rate: {path: apcp.grib2, select: {element: PRATE}, units: mm/h}\n"
             "steps:\n"
             "  - {id: a, kind: raster.calc, input: p6_12, expression: value}\n"
             "  - {id: b, kind: raster.calc, input: p12_24, expression: value}\n"
             "  - {id: c, kind: raster.calc, input: p0_12, expression: value}\n"
             "  - {id: d, kind: raster.calc, input: rate, expression: value}\n"
             "outputs:\n  - {from: a, path: a.tif}\n  - {from: b, path: b.tif}\n  - {from: c, path: c.tif}\n"
             "  - {from: d, path: d.tif}\n");
  const auto r = run_qinling("run " + (dir / "job.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // total(L) = 0.5 L + (lon − 100)/10: the lon term cancels in a difference.
  EXPECT_LT(field(diff_to(dir / "a.tif", "3 + 0 * lon"), "MAXDIFF"), 1e-5);
  EXPECT_LT(field(diff_to(dir / "b.tif", "6 + 0 * lon"), "MAXDIFF"), 1e-5);
  EXPECT_LT(field(diff_to(dir / "c.tif", "6 + (lon - 100) / 10"), "MAXDIFF"), 1e-4);
  EXPECT_LT(field(diff_to(dir / "d.tif", "3.6 + 0 * lon"), "MAXDIFF"), 1e-5);  // 0.001 kg m-2 s-1

  write_text(dir / "bad.yaml",
             "job: bad\ngrid: {crs: EPSG:4326, resolution: 1, extent: [101, 29, 115, 39]}\n"
             "inputs:\n  p: {path: apcp.grib2, select: {element: APCP, period: [12h, 6h]}}\n"
             "steps:\n  - {id: a, kind: raster.calc, input: p, expression: value}\n"
             "outputs:\n  - {from: a, path: a.tif}\n");
  const auto bad = run_qinling("validate " + (dir / "bad.yaml"));
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("from < to"), std::string::npos) << bad.output;
}

// `calibrate: true`: each AGRI count is looked up in the file's CALChannelNN table (counts past its
// end are nodata), checked cell by cell against the table read with h5py; without a table, or on
// a product that is not AGRI, a clear error.
TEST(MetSatellite, AgriCountsAreCalibratedThroughTheFileTable) {
  TempDir dir;
  run_py("make_satellite.py make " + dir.path().string());
  const std::string head =
      "job: agri\ngrid: {crs: EPSG:4326, resolution: 0.05, extent: [105.5, 32, 110.5, 35]}\ninputs:\n";
  const std::string agri = (dir / kAgri);
  write_text(dir / "job.yaml", head + "  c: {path: " + agri + ", select: {variable: NOMChannel01}}\n" +
                                   "  ccal: {path: " + agri + ", select: {variable: NOMChannel01}, calibrate: true}\n" +
                                   "  l: {path: " + agri + ", select: {variable: NOMChannel02}}\n" +
                                   "  lcal: {path: " + agri + ", select: {variable: NOMChannel02}, calibrate: true}\n" +
                                   "steps:\n"
                                   "  - {id: c_n, kind: met.regrid, source: c, method: nearest}\n"
                                   "  - {id: ccal_n, kind: met.regrid, source: ccal, method: nearest}\n"
                                   "  - {id: l_n, kind: met.regrid, source: l, method: nearest}\n"
                                   "  - {id: lcal_n, kind: met.regrid, source: lcal, method: nearest}\n"
                                   "outputs:\n  - {from: c_n, path: c.tif}\n  - {from: ccal_n, path: ccal.tif}\n"
                                   "  - {from: l_n, path: l.tif}\n  - {from: lcal_n, path: lcal.tif}\n");
  const auto r = run_qinling("run " + (dir / "job.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string out = run_py("make_satellite.py calibrated " + agri + " " + (dir / "c.tif") + " " +
                           (dir / "ccal.tif") + " 1");
  EXPECT_EQ(field(out, "CELLS"), 6000) << out;
  EXPECT_EQ(field(out, "WRONG"), 0) << out;
  EXPECT_EQ(field(out, "NAN"), 0) << out;
  out = run_py("make_satellite.py calibrated " + agri + " " + (dir / "l.tif") + " " + (dir / "lcal.tif") + " 2");
  EXPECT_EQ(field(out, "WRONG"), 0) << out;
  EXPECT_GT(field(out, "PAST"), 100) << out;  // the test table is short on purpose
  EXPECT_EQ(field(out, "NAN"), field(out, "PAST")) << out;

  // Calibrated reflectance has units "1" (no conversion to °C); IMERG has no calibration tables;
  // calibration without `select:`.
  for (const auto& [input, expected] : std::vector<std::pair<std::string, std::string>>{
           {"{path: " + agri + ", select: {variable: NOMChannel01}, calibrate: yes, units: degC}", "cannot convert"},
           {"{path: " + (dir / kImerg) + ", select: {variable: precipitation}, calibrate: true}", "AGRI"},
           {"{path: " + agri + ", calibrate: true}", "calibrate"}}) {
    write_text(dir / "bad.yaml", head + "  x: " + input + "\nsteps:\n  - {id: r, kind: met.regrid, source: x}\n"
                                        "outputs:\n  - {from: r, path: bad.tif}\n");
    const auto b = run_qinling("run " + (dir / "bad.yaml"));
    EXPECT_EQ(b.exit_code, 2) << input << "\n" << b.output;
    EXPECT_NE(b.output.find(expected), std::string::npos) << input << "\n" << b.output;
    EXPECT_FALSE(std::filesystem::exists(dir / "bad.tif"));
  }
}
