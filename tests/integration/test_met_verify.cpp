// met.verify per lead time against stations: the scores overall and per lead equal an independent
// numpy implementation (tests/data/verify_reference.py), for any thread count; rows whose lead has
// no forecast are counted; inconsistent options are planning errors.
#include <gtest/gtest.h>

#include <string>

#include "support/test_support.hpp"

using namespace qinling::test;

namespace {

const std::string kScript =
    std::string("/usr/bin/python3 ") + QINLING_SOURCE_DIR + "/tests/data/verify_reference.py ";

// 300 stations × 4 leads over a 60 × 60 grid of 2.5 km cells in the sample scene's CRS.
void make_data(const TempDir& dir) {
  const auto r =
      run_command(kScript + "make " + dir.path().string() + " 300 4 60 EPSG:4547 2500 -150000 3800000");
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

std::string job(const std::string& step) {
  return "job: v\ninputs:\n  fc: {path: fc.tif}\nsteps:\n  - {id: v, kind: met.verify, " + step +
         "}\noutputs:\n  - {from: v, path: v.json, format: json}\n  - {from: v, path: v.csv, format: csv}\n";
}

}  // namespace

TEST(MetVerify, PerLeadStationScoresMatchNumpy) {
  TempDir dir;
  make_data(dir);
  write_text(dir / "job.yaml",
             job("forecasts: [fc], leads: [1, 2, 3, 4], stations: obs.csv, variable: precipitation, "
                 "thresholds: [0.1, 10, 25]"));
  std::string first;
  for (const char* threads : {"1", "2"}) {
    const auto r = run_qinling("run " + (dir / "job.yaml") + " --threads " + threads);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto out =
        run_command(kScript + "compare " + dir.path().string() + " 0.1,10,25 " + (dir / "v.json"));
    ASSERT_EQ(out.exit_code, 0) << out.output;
    EXPECT_LT(field(out.output, "MAXDIFF"), 1e-5) << out.output;  // the JSON keeps 6 significant digits
    EXPECT_EQ(field(out.output, "COUNTS"), 1) << out.output;
    EXPECT_EQ(field(out.output, "LEADS"), 4) << out.output;
    const std::string json = read_bytes(dir / "v.json");
    if (first.empty()) first = json;
    EXPECT_EQ(json, first) << "thread count changed the scores";
  }
  const std::string csv = read_bytes(dir / "v.csv");
  EXPECT_EQ(csv.rfind("lead,score_type,threshold,n,", 0), 0u) << csv;
  EXPECT_NE(csv.find("\nall,continuous,,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\n4,categorical,25,"), std::string::npos) << csv;
}

TEST(MetVerify, LeadsWithoutAForecastAreCounted) {
  TempDir dir;
  make_data(dir);
  // Only leads 1 and 2 have a forecast layer (bands 1 and 2): the rows of leads 3 and 4 are counted.
  write_text(dir / "job.yaml", job("forecasts: [fc.b1, fc.b2], leads: [1, 2], stations: obs.csv"));
  const auto r = run_qinling("run " + (dir / "job.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Rows of leads 3 and 4 with a value (rows without one are rejected as missing first).
  const auto count = run_command("awk -F, 'NR > 1 && ($4 == 3 || $4 == 4) && $5 != \"nan\"' " +
                                 (dir / "obs.csv") + " | wc -l");
  const std::string expected = "\"unknown_lead\": " + std::to_string(std::stoi(count.output));
  EXPECT_NE(read_bytes(dir / "v.json").find(expected), std::string::npos) << expected << "\n"
                                                                          << read_bytes(dir / "v.json");
  EXPECT_NE(r.output.find("lead time without a forecast"), std::string::npos) << r.output;
}

TEST(MetVerify, InconsistentLeadOptionsAreJobErrors) {
  TempDir dir;
  make_data(dir);
  const std::pair<std::string, std::string> cases[] = {
      {"forecasts: [fc], leads: [1, 2], stations: obs.csv", "2 leads for 4 forecast layers"},
      {"forecast: fc.b1, forecasts: [fc], leads: [1, 2, 3, 4], stations: obs.csv",
       "exactly one of `forecast`"},
      {"forecasts: [fc], leads: [1, 2, 3, 4], observation: fc.b1", "needs `stations`"},
      {"forecast: fc.b1, leads: [1], stations: obs.csv", "`leads` go with `forecasts`"},
  };
  for (const auto& [step, message] : cases) {
    write_text(dir / "job.yaml", job(step));
    const auto r = run_qinling("validate " + (dir / "job.yaml"));
    EXPECT_EQ(r.exit_code, 2) << step << "\n" << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << step << "\n" << r.output;
  }
  // A lead column that is not in the table names the file and the columns it has.
  write_text(dir / "job.yaml",
             job("forecasts: [fc], leads: [1, 2, 3, 4], stations: obs.csv, lead_column: step"));
  const auto r = run_qinling("run " + (dir / "job.yaml"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("has no column 'step'"), std::string::npos) << r.output;
}

TEST(MetVerify, BilinearAtStationsIsExactOnALinearField) {
  TempDir dir;
  // 0.1° cells from 100°E 34°N, value 3 + 2·col + 0.5·row at the cell centres: a plane in lon/lat,
  // which bilinear sampling reproduces between the centres; stations observe the plane exactly.
  const std::string py =
      "import numpy as np\nfrom osgeo import gdal\n"
      "d = gdal.GetDriverByName('GTiff').Create('" +
      (dir / "fc.tif") +
      "', 20, 20, 1, gdal.GDT_Float32)\n"
      "d.SetGeoTransform([100, 0.1, 0, 34, 0, -0.1]); d.SetProjection('EPSG:4326')\n"
      "r, c = np.mgrid[0:20, 0:20].astype(float)\nd.GetRasterBand(1).WriteArray(3 + 2 * c + 0.5 * r)\nd = "
      "None\n"
      "rng = np.random.default_rng(7); lon = rng.uniform(100.06, 101.94, 40); lat = rng.uniform(32.06, "
      "33.94, 40)\n"
      "v = 3 + 2 * ((lon - 100) / 0.1 - 0.5) + 0.5 * ((34 - lat) / 0.1 - 0.5)\n"
      "open('" +
      (dir / "obs.csv") +
      "', 'w').write('id,lon,lat,value\\n' + ''.join("
      "f's{i},{lon[i]:.9f},{lat[i]:.9f},{v[i]:.9f}\\n' for i in range(40)))\n";
  write_text(dir / "make.py", py);
  const auto made = run_command("/usr/bin/python3 " + (dir / "make.py"));
  ASSERT_EQ(made.exit_code, 0) << made.output;
  auto mae = [&](const std::string& sample) {
    write_text(dir / "job.yaml", job("forecast: fc, stations: obs.csv, sample: " + sample));
    const auto r = run_qinling("run " + (dir / "job.yaml"));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    const std::string json = read_bytes(dir / "v.json");
    const auto at = json.find("\"mae\": ");
    return at == std::string::npos ? 1e9 : std::stod(json.substr(at + 7));
  };
  EXPECT_LT(mae("bilinear"), 1e-4);  // float32 cells, 6 significant digits in the JSON
  EXPECT_GT(mae("nearest"), 0.3);    // up to half a cell away: |∇f| · 0.05° ≈ 0.5
}

namespace {

const std::string kFss =
    std::string("/usr/bin/python3 ") + QINLING_SOURCE_DIR + "/tests/data/verify_fss_reference.py ";

std::string grid_job(const std::string& step) {
  return "job: g\ninputs:\n  fc: {path: fc.tif}\n  obs: {path: obs.tif}\nsteps:\n"
         "  - {id: v, kind: met.verify, forecast: fc, observation: obs, " +
         step +
         "}\noutputs:\n  - {from: v, path: v.json, format: json}\n  - {from: v, path: v.csv, format: csv}\n"
         "  - {from: v, path: v.html, format: html}\n";
}

}  // namespace

// Fractions skill score on 61 × 47 cells with scattered missing cells and a missing block at an edge:
// the partial sums equal a brute-force numpy neighbourhood count, for any thread count.
TEST(MetVerify, GridFractionsSkillScoreMatchesBruteForce) {
  TempDir dir;
  const auto made = run_command(kFss + "make " + dir.path().string());
  ASSERT_EQ(made.exit_code, 0) << made.output;
  write_text(dir / "job.yaml", grid_job("thresholds: [0.5, 5, 20], fss_windows: [1, 3, 5, 9, 21]"));
  std::string first;
  for (const char* threads : {"1", "2"}) {
    const auto r = run_qinling("run " + (dir / "job.yaml") + " --force --threads " + threads);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto out =
        run_command(kFss + "fss " + dir.path().string() + " 0.5,5,20 1,3,5,9,21 " + (dir / "v.json"));
    ASSERT_EQ(out.exit_code, 0) << out.output;
    EXPECT_EQ(field(out.output, "COUNTS"), 1) << out.output;
    EXPECT_LT(field(out.output, "MAXDIFF"), 1e-12) << out.output;  // sums stored with 17 digits
    EXPECT_LT(field(out.output, "FSSDIFF"), 1e-6) << out.output;   // FSS with 6 significant digits
    EXPECT_EQ(field(out.output, "PAIRS"), 15) << out.output;
    const std::string json = read_bytes(dir / "v.json");
    if (first.empty()) first = json;
    EXPECT_EQ(json, first) << "thread count changed the scores";
  }
  const std::string csv = read_bytes(dir / "v.csv");
  EXPECT_NE(csv.find(",frequency_bias,accuracy,window,fss\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\nfss,20,"), std::string::npos) << csv;
}

// The HTML report parses, has one SVG per plot, its performance-diagram points are the POD and success
// ratio of the JSON's counts, every table cell equals the JSON, and grid to grid the bias map decodes.
TEST(MetVerify, HtmlReportAgreesWithTheJson) {
  TempDir dir;
  const auto made = run_command(kFss + "make " + dir.path().string());
  ASSERT_EQ(made.exit_code, 0) << made.output;
  write_text(dir / "job.yaml", grid_job("thresholds: [0.5, 5, 20, 500], fss_windows: [1, 5]"));
  auto r = run_qinling("run " + (dir / "job.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto out = run_command(kFss + "report " + (dir / "v.html") + " " + (dir / "v.json"));
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_EQ(field(out.output, "WELLFORMED"), 1) << out.output;
  EXPECT_EQ(field(out.output, "SVGS"), 3) << out.output;  // thresholds, performance diagram, FSS
  EXPECT_EQ(field(out.output, "PLOTS"), 1) << out.output;
  EXPECT_EQ(field(out.output, "POINTS"), 3) << out.output;  // 500 mm: no event, no point
  EXPECT_EQ(field(out.output, "EXPECTED_POINTS"), 3) << out.output;
  EXPECT_LT(field(out.output, "POINTDIFF"), 1e-12) << out.output;
  EXPECT_EQ(field(out.output, "CELLS"), 5 + 4 * 10 + 8 * 2) << out.output;  // continuous, categorical, FSS
  EXPECT_EQ(field(out.output, "CELLDIFF"), 0) << out.output;
  EXPECT_EQ(field(out.output, "PNG"), 1) << out.output;

  // Per lead against stations: a fourth plot (scores by lead), table rows per lead, no map.
  make_data(dir);
  write_text(dir / "job.yaml",
             job("forecasts: [fc], leads: [1, 2, 3, 4], stations: obs.csv, thresholds: [1, 10]") +
                 "  - {from: v, path: v.html, format: html}\n");
  r = run_qinling("run " + (dir / "job.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  out = run_command(kFss + "report " + (dir / "v.html") + " " + (dir / "v.json"));
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_EQ(field(out.output, "WELLFORMED"), 1) << out.output;
  EXPECT_EQ(field(out.output, "SVGS"), 3) << out.output;  // leads, thresholds, performance diagram
  EXPECT_EQ(field(out.output, "PLOTS"), 1) << out.output;
  EXPECT_EQ(field(out.output, "CELLS"), 5 * 5 + 2 * 10) << out.output;
  EXPECT_EQ(field(out.output, "CELLDIFF"), 0) << out.output;
  EXPECT_EQ(field(out.output, "PNG"), 0) << out.output;
}

TEST(MetVerify, FssOptionsAreCheckedWhenPlanning) {
  TempDir dir;
  make_data(dir);
  const std::pair<std::string, std::string> cases[] = {
      {"forecast: fc.b1, stations: obs.csv, thresholds: [1], fss_windows: [3]",
       "needs an `observation` layer"},
      {"forecast: fc.b1, observation: fc.b2, fss_windows: [3]", "needs `thresholds`"},
      {"forecast: fc.b1, observation: fc.b2, thresholds: [1], fss_windows: [1, 4]", "window 4 is not an odd"},
  };
  for (const auto& [step, message] : cases) {
    write_text(dir / "job.yaml", job(step));
    const auto r = run_qinling("validate " + (dir / "job.yaml"));
    EXPECT_EQ(r.exit_code, 2) << step << "\n" << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << step << "\n" << r.output;
  }
}
