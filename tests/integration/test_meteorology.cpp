// Meteorology end to end: weather bands chosen by metadata from GRIB2/NetCDF written by GDAL
// (tests/data/make_weather.py), downscaling against the analytic field, IDW and detrended IDW on
// hand-computed station cases, verification scores on a hand-computed table, and bad selections.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "support/test_support.hpp"

using namespace qinling::test;
namespace fs = std::filesystem;

namespace {

const char* kPython = "/usr/bin/python3";

// Writes the synthetic weather files once per test.
void make_weather(const TempDir& dir) {
  const auto r = run_command(std::string(kPython) + " " + QINLING_SOURCE_DIR + "/tests/data/make_weather.py " +
                             dir.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

// Runs a Python snippet (with numpy and osgeo) and returns its output.
std::string python(const TempDir& dir, const std::string& code) {
  write_text(dir / "snippet.py", "import numpy as np\nfrom osgeo import gdal, osr\ngdal.UseExceptions()\n" + code);
  const auto r = run_command(std::string(kPython) + " " + (dir / "snippet.py"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.output;
}

// A 4×5 grid of 1° cells in WGS84 from 100°E 34°N: band value = `expr` of col c and row r.
void small_grid(const TempDir& dir, const std::string& name, const std::string& expr) {
  python(dir, "d = gdal.GetDriverByName('GTiff').Create('" + (dir / name) +
                  "', 4, 5, 1, gdal.GDT_Float32)\n"
                  "d.SetGeoTransform([100, 1, 0, 34, 0, -1]); d.SetProjection('EPSG:4326')\n"
                  "r, c = np.mgrid[0:5, 0:4].astype(float)\n"
                  "d.GetRasterBand(1).WriteArray(" + expr + ")\nd = None\n");
}

double max_diff_to_python(const TempDir& dir, const std::string& tif, const std::string& reference_expr) {
  // Per pixel: lon/lat of the centre in WGS84, the DEM, and the value written by qinling.
  const std::string out = python(
      dir, "ds = gdal.Open('" + tif + "'); a = ds.GetRasterBand(1).ReadAsArray().astype(float)\n"
           "dd = gdal.Open('" + sample_scene_dir() + "/dem.tif'); dem = dd.GetRasterBand(1).ReadAsArray().astype(float)\n"
           "gt = ds.GetGeoTransform(); s = osr.SpatialReference(); s.ImportFromWkt(ds.GetProjection())\n"
           "s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)\n"
           "g = osr.SpatialReference(); g.ImportFromEPSG(4326); g.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)\n"
           "ct = osr.CoordinateTransformation(s, g)\n"
           "r, c = np.mgrid[0:a.shape[0], 0:a.shape[1]]\n"
           "x = gt[0] + (c + 0.5) * gt[1]; y = gt[3] + (r + 0.5) * gt[5]\n"
           "pts = np.array(ct.TransformPoints(np.stack([x.ravel(), y.ravel()], 1)))\n"
           "lon = pts[:, 0].reshape(a.shape); lat = pts[:, 1].reshape(a.shape)\n"
           "ref = " + reference_expr + "\n"
           "print('MAXDIFF', np.nanmax(np.abs(a - ref)), 'NAN', int(np.isnan(a).sum()))\n");
  const auto p = out.find("MAXDIFF");
  if (p == std::string::npos) return 1e9;
  EXPECT_NE(out.find("NAN 0"), std::string::npos) << out;
  return std::stod(out.substr(p + 8));
}

}  // namespace

TEST(Meteorology, SelectsGribAndNetcdfBandsByMetadata) {
  TempDir dir;
  make_weather(dir);
  const std::string sample = sample_scene_dir();
  write_text(dir / "job.yaml",
             "job: select\ninputs:\n"
             "  dem: {path: " + sample + "/dem.tif}\n"
             "  t12: {path: global.grib2, select: {element: TMP, level: 2-HTGL, valid: 2026-07-01T12:00Z}, units: K}\n"
             "  t24: {path: global.grib2, select: {element: TMP, lead: 24h}, units: degC}\n"
             "  t6: {path: fields.nc, select: {variable: t2m, valid: 2026-07-01T06:00Z}, units: degC}\n"
             "  tp: {path: fields.nc, select: {variable: tp}, units: mm}\n"
             "steps:\n"
             "  - {id: a, kind: raster.calc, input: t12, expression: value}\n"
             "  - {id: b, kind: raster.calc, input: t24, expression: value}\n"
             "  - {id: c, kind: raster.calc, input: t6, expression: value}\n"
             "  - {id: d, kind: raster.calc, input: tp, expression: value}\n"
             // A product step reading the input itself must see the converted values too.
             "  - {id: v, kind: met.verify, forecast: t12, observation: a}\n"
             "outputs:\n  - {from: v, path: v.json, format: json}\n"
             "  - {from: a, path: a.tif}\n  - {from: b, path: b.tif}\n  - {from: c, path: c.tif}\n"
             "  - {from: d, path: d.tif}\n");
  const auto r = run_qinling("run " + (dir / "job.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The GRIB field is linear in lon/lat (250 + lon/10 + lat/100 K), so bilinear warping from the
  // 0–360° global grid onto the 30 m EPSG:4547 grid reproduces it exactly (float32 rounding).
  EXPECT_LT(max_diff_to_python(dir, dir / "a.tif", "250 + lon / 10 + lat / 100"), 1e-3);
  EXPECT_LT(max_diff_to_python(dir, dir / "b.tif", "251 + lon / 10 + lat / 100 - 273.15"), 1e-3);
  EXPECT_LT(max_diff_to_python(dir, dir / "c.tif", "286 - 273.15 + 0 * lon"), 1e-4);
  EXPECT_LT(max_diff_to_python(dir, dir / "d.tif", "12.5 + 0 * lon"), 1e-4);
  const std::string json = read_bytes(dir / "v.json");
  EXPECT_NE(json.find("\"n\": 360000, \"bias\": 0,"), std::string::npos) << json;
}

TEST(Meteorology, BadSelectionListsTheAvailableBands) {
  TempDir dir;
  make_weather(dir);
  const std::string head = "job: bad\ninputs:\n  dem: {path: " + sample_scene_dir() + "/dem.tif}\n";
  const std::string tail = "steps:\n  - {id: a, kind: raster.calc, input: t, expression: value}\noutputs:\n"
                           "  - {from: a, path: a.tif}\n";
  write_text(dir / "time.yaml", head + "  t: {path: global.grib2, select: {element: TMP, valid: 2026-07-02T06:00Z}}\n" + tail);
  auto r = run_qinling("validate " + (dir / "time.yaml"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("time.yaml:4"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("no band matches"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("element=TMP level=2-HTGL valid=2026-07-01T12:00Z"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("element=HGT"), std::string::npos) << r.output;

  write_text(dir / "many.yaml", head + "  t: {path: global.grib2, select: {element: TMP}}\n" + tail);
  r = run_qinling("validate " + (dir / "many.yaml"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("2 bands match"), std::string::npos) << r.output;

  write_text(dir / "var.yaml", head + "  t: {path: fields.nc, select: {variable: t3m}}\n" + tail);
  r = run_qinling("validate " + (dir / "var.yaml"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("variables: t2m, tp"), std::string::npos) << r.output;

  write_text(dir / "unit.yaml", head + "  t: {path: fields.nc, select: {variable: tp}, units: degC}\n" + tail);
  r = run_qinling("validate " + (dir / "unit.yaml"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("cannot convert"), std::string::npos) << r.output;
}

TEST(Meteorology, DownscalingEqualsTheAnalyticField) {
  TempDir dir;
  make_weather(dir);
  write_text(dir / "job.yaml",
             "job: downscale\ninputs:\n"
             "  dem: {path: " + sample_scene_dir() + "/dem.tif}\n"
             "  t: {path: global.grib2, select: {element: TMP, lead: 12}, units: degC}\n"
             "  oro: {path: global.grib2, select: {element: HGT, level: 0-SFC}}\n"
             "steps:\n"
             "  - {id: t_fine, kind: met.downscale_temperature, temperature: t, orography: oro, dem: dem}\n"
             "outputs:\n  - {from: t_fine, path: t_fine.tif}\n");
  const auto r = run_qinling("run " + (dir / "job.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_LT(max_diff_to_python(dir, dir / "t_fine.tif",
                               "250 + lon / 10 + lat / 100 - 273.15 - 6.5 / 1000 * (dem - (1000 + 10 * lon))"),
            2e-3);
}

TEST(Meteorology, IdwMatchesAHandComputedThreeStationCase) {
  TempDir dir;
  small_grid(dir, "grid.tif", "100 * (c + 4 * r)");
  // A, B, C at cell centres; D has no value, E is outside valid_range: both rejected and counted.
  write_text(dir / "st.csv",
             "code,x,y,height,t2\nA,100.5,33.5,0,10\nB,103.5,33.5,300,20\nC,100.5,29.5,1600,30\nD,101.5,30.5,0,\n"
             "E,102.5,30.5,0,999\n");
  write_text(dir / "job.yaml",
             "job: idw\ninputs:\n  g: {path: grid.tif}\nsteps:\n"
             "  - {id: idw, kind: met.interpolate_stations, stations: st.csv, id_column: code, lon_column: x,\n"
             "     lat_column: y, elevation_column: height, value_column: t2, valid_range: [-50, 60]}\n"
             "outputs:\n  - {from: idw, path: idw.tif}\n");
  const auto r = run_qinling("run " + (dir / "job.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("2 of 5 station rows rejected (1 missing, 1 outside valid_range)"), std::string::npos)
      << r.output;
  const auto v = read_band(dir / "idw.tif", 1);
  ASSERT_EQ(v.size(), 20u);
  EXPECT_NEAR(v[0], 10.0, 1e-6);                 // on A
  EXPECT_NEAR(v[3], 20.0, 1e-6);                 // on B
  EXPECT_NEAR(v[16], 30.0, 1e-6);                // on C
  // (101.5, 33.5): distances 1, 2, √17 → weights 1, 1/4, 1/17.
  EXPECT_NEAR(v[1], (10 + 20.0 / 4 + 30.0 / 17) / (1 + 1.0 / 4 + 1.0 / 17), 1e-5);
  // (102.5, 31.5): squared distances 8, 5, 8 → (10/8 + 20/5 + 30/8) / (1/8 + 1/5 + 1/8) = 20.
  EXPECT_NEAR(v[2 + 4 * 2], 20.0, 1e-5);
  const auto info = run_command("gdalinfo " + (dir / "idw.tif"));
  EXPECT_NE(info.output.find("LOO_RMSE="), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("LAYOUT=COG"), std::string::npos) << info.output;
}

TEST(Meteorology, DetrendedIdwIsExactOnAPureLapseField) {
  TempDir dir;
  small_grid(dir, "dem.tif", "100 * (c + 4 * r)");
  // Stations on cells (0,0), (3,1), (1,3), (2,4) with elevation = DEM and T = 20 − 0.006 × z.
  std::string csv = "id,lon,lat,elevation,value\n";
  for (auto [c, r] : {std::pair{0, 0}, {3, 1}, {1, 3}, {2, 4}}) {
    const double z = 100.0 * (c + 4 * r);
    csv += "s,"  + std::to_string(100.5 + c) + "," + std::to_string(33.5 - r) + "," + std::to_string(z) + "," +
           std::to_string(20 - 0.006 * z) + "\n";
  }
  write_text(dir / "st.csv", csv);
  write_text(dir / "job.yaml",
             "job: detrend\ninputs:\n  dem: {path: dem.tif}\nsteps:\n"
             "  - {id: t, kind: met.interpolate_stations, stations: st.csv, method: detrended_idw, dem: dem}\n"
             "  - {id: plain, kind: met.interpolate_stations, stations: st.csv}\n"
             "outputs:\n  - {from: t, path: t.tif}\n  - {from: plain, path: plain.tif}\n");
  const auto r = run_qinling("run " + (dir / "job.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto v = read_band(dir / "t.tif", 1);
  ASSERT_EQ(v.size(), 20u);
  double worst = 0;
  for (int i = 0; i < 20; ++i) worst = std::max(worst, std::fabs(v[i] - (20 - 0.006 * 100.0 * i)));
  EXPECT_LT(worst, 1e-4);
  // Plain IDW cannot follow the terrain between stations.
  const auto p = read_band(dir / "plain.tif", 1);
  double plain_worst = 0;
  for (int i = 0; i < 20; ++i) plain_worst = std::max(plain_worst, std::fabs(p[i] - (20 - 0.006 * 100.0 * i)));
  EXPECT_GT(plain_worst, 1.0);
}

TEST(Meteorology, VerifyScoresMatchAHandComputedTable) {
  TempDir dir;
  // Forecast cells: (0,0)=12, (1,0)=5, (2,0)=11, (3,0)=2; stations observe 15, 11, 3, 1 there, and one
  // station lies outside the grid. At 10: 1 hit, 1 miss, 1 false alarm, 1 correct negative.
  small_grid(dir, "fc.tif", "np.where(r == 0, np.choose(c.astype(int), [12, 5, 11, 2]), 0)");
  write_text(dir / "obs.csv",
             "id,lon,lat,value\na,100.5,33.5,15\nb,101.5,33.5,11\nc,102.5,33.5,3\nd,103.5,33.5,1\nout,120,33.5,4\n");
  write_text(dir / "job.yaml",
             "job: verify\ninputs:\n  fc: {path: fc.tif}\nsteps:\n"
             "  - {id: v, kind: met.verify, forecast: fc, stations: obs.csv, variable: precipitation,\n"
             "     thresholds: [10]}\n"
             "outputs:\n  - {from: v, path: v.json, format: json}\n  - {from: v, path: v.csv, format: csv}\n");
  const auto r = run_qinling("run " + (dir / "job.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string json = read_bytes(dir / "v.json");
  // Errors −3, −6, 8, 1: bias 0, MAE 4.5, RMSE √27.5; POD ½, FAR ½, TS ⅓, ETS 0 (random hits 1), FB 1.
  for (const char* s : {"\"outside_grid\": 1", "\"n\": 4", "\"bias\": 0,", "\"mae\": 4.5,", "\"rmse\": 5.24404,",
                        "\"hits\": 1, \"misses\": 1, \"false_alarms\": 1, \"correct_negatives\": 1",
                        "\"pod\": 0.5, \"far\": 0.5, \"ts\": 0.333333, \"ets\": 0, \"frequency_bias\": 1"})
    EXPECT_NE(json.find(s), std::string::npos) << s << "\n" << json;
  const std::string csv = read_bytes(dir / "v.csv");
  EXPECT_NE(csv.find("categorical,10,4,,,,,,,1,1,1,1,0.5,0.5,0.333333,0,1,0.5"), std::string::npos) << csv;
  const auto check = run_command(std::string(kPython) + " -c \"import json; json.load(open('" + (dir / "v.json") + "'))\"");
  EXPECT_EQ(check.exit_code, 0) << check.output;
}

TEST(Meteorology, RealWeatherFilesSelectByMetadata) {
  const std::string real = real_data_dir();
  if (real.empty()) GTEST_SKIP() << "QINLING_REAL_DATA not set";
  const std::string grib = real + "/weather/grib/cfgrib/regular_ll_sfc.grib";
  const std::string nc = real + "/weather/netcdf/xarray-data/eraint_uvz.nc";
  if (!fs::exists(grib) || !fs::exists(nc)) GTEST_SKIP() << "weather files missing";
  TempDir dir;
  const std::string tail = "steps:\n  - {id: a, kind: raster.calc, input: w, expression: value}\n"
                           "outputs:\n  - {from: a, path: a.tif}\n";
  write_text(dir / "grib.yaml", "job: real\ninputs:\n  w: {path: " + grib +
                                    ", select: {element: SKT, valid: 2017-10-18T12:00Z}, units: K}\n" + tail);
  write_text(dir / "nc.yaml", "job: real\ninputs:\n  w: {path: " + nc +
                                  ", select: {variable: z, level: 500, month: 7}}\n" + tail);
  // Independent reference: GDAL's own reading of the same bands (GRIB in °C → K; NetCDF band 5 =
  // level 500, month 7, unpacked with its scale_factor/add_offset).
  const std::string ref[] = {"gdal.Open('" + grib + "')\nref = ref.GetRasterBand(1).ReadAsArray().astype(float) + 273.15",
                             "gdal.Open('NETCDF:\"" + nc + "\":z')\nb5 = ref.GetRasterBand(5)\n"
                             "ref = b5.ReadAsArray().astype(float) * b5.GetScale() + b5.GetOffset()"};
  int i = 0;
  for (const char* job : {"grib.yaml", "nc.yaml"}) {
    const auto r = run_qinling("run " + (dir / job) + " --out " + (dir / job) + ".out");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const std::string out = python(dir, "da = gdal.Open('" + (dir / job) + ".out/a.tif'); a = da.GetRasterBand(1).ReadAsArray()\n"
                                        "ref = " + ref[i++] + "\nprint('D', np.nanmax(np.abs(a - ref) / np.maximum(1, np.abs(ref))), np.nanmean(a))\n");
    ASSERT_NE(out.find("D "), std::string::npos) << out;
    // Relative to the value (float32 keeps ~7 digits; geopotential is ~5.5e4 m²/s²).
    EXPECT_LT(std::stod(out.substr(out.find("D ") + 2)), 2e-6) << job << ": " << out;
  }
  write_text(dir / "two.yaml", "job: real\ninputs:\n  w: {path: " + nc + ", select: {variable: z, level: 500}}\n" + tail);
  const auto r = run_qinling("validate " + (dir / "two.yaml"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("2 bands match"), std::string::npos) << r.output;
}
