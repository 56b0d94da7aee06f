// zonal.points against a hand-computed table (CSV in a projected CRS, GeoJSON in lon/lat written
// by python-gdal, GeoPackage by ogr2ogr), bad rows reported, and supervision.alerts comparing
// with the previous run of the same job (`previous: auto`).
#include <gtest/gtest.h>
#include <ogrsf_frmts.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "raster/gdal_io.hpp"
#include "support/test_support.hpp"

using namespace qinling;

namespace {

// Four 1 km cells: x 20000..22000, y 3760000..3762000 (EPSG:4547).
const char* kRegion =
    R"({"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4547"}},
"features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":
[[[20000,3760000],[22000,3760000],[22000,3762000],[20000,3762000],[20000,3760000]]]}}]})";

// Point 4 lies on the edge shared by E20 and E21 (a cell owns its west and south edges); point 6
// is outside every cell; rows 7 and 8 have bad coordinates; row 5 has a bad time and distance.
const char* kPoints =
    "id,x,y,time,ranger,distance_km\n"
    "1,20500,3761500,2024-07-01 08:00,A,2.5\n"
    "2,20600,3761400,2024-07-10T00:00:00Z,B,1.5\n"
    "3,20700,3761300,2024-06-30,B,\n"
    "4,21000,3760500,2024-07-20 12:00,C,4\n"
    "5,21999,3760001,yesterday,C,x\n"
    "6,25000,3761500,2024-07-01,D,1\n"
    "7,,,2024-07-01,D,1\n"
    "8,abc,3761500,2024-07-01,D,1\n";

struct Row {
  long count = -1;
  std::string last_seen, majority;
  double days = NAN, sum = NAN;
  std::map<std::string, double> numbers;
  std::map<std::string, std::string> texts;
};

std::map<std::string, Row> read_cells(const std::string& gpkg, const std::string& prefix) {
  raster::init_gdal();
  raster::DatasetPtr ds(
      static_cast<GDALDataset*>(GDALOpenEx(gpkg.c_str(), GDAL_OF_VECTOR, nullptr, nullptr, nullptr)));
  std::map<std::string, Row> out;
  if (!ds) return out;
  for (auto& f : *ds->GetLayer(0)) {
    Row r;
    r.count = f->GetFieldAsInteger64((prefix + "count").c_str());
    r.last_seen = f->GetFieldAsString((prefix + "last_seen").c_str());
    r.majority = f->GetFieldAsString((prefix + "majority_ranger").c_str());
    const int d = f->GetFieldIndex((prefix + "days_since").c_str());
    if (d >= 0 && f->IsFieldSetAndNotNull(d)) r.days = f->GetFieldAsDouble(d);
    r.sum = f->GetFieldAsDouble((prefix + "sum_distance_km").c_str());
    for (int i = 0; i < f->GetFieldCount(); ++i) {
      const std::string name = f->GetFieldDefnRef(i)->GetNameRef();
      if (!f->IsFieldSetAndNotNull(i)) continue;
      r.texts[name] = f->GetFieldAsString(i);
      if (f->GetFieldDefnRef(i)->GetType() != OFTString) r.numbers[name] = f->GetFieldAsDouble(i);
    }
    out[f->GetFieldAsString("cell_id")] = r;
  }
  return out;
}

std::string job(const std::string& points_input, const std::string& extra_options) {
  return "job: points\n"
         "grid: {crs: \"EPSG:4547\", resolution: 100, extent: [20000, 3760000, 22000, 3762000]}\n"
         "inputs:\n  region: {path: region.geojson}\n  patrols: " +
         points_input +
         "\n"
         "steps:\n"
         "  - {id: grid, kind: grid.build, cell_size: 1000, region: region}\n"
         "  - {id: pts, kind: zonal.points, input: patrols, zones: grid, time_field: time,\n"
         "     as_of: \"2024-07-31\", sum: [distance_km], majority: [ranger]" +
         extra_options +
         "}\n"
         "outputs:\n  - {from: pts, path: pts.gpkg, format: gpkg}\n";
}

// The hand-computed table (as_of 2024-07-31 00:00 Beijing time).
void expect_hand_table(const std::map<std::string, Row>& cells, bool with_edge_point) {
  ASSERT_EQ(cells.size(), 4u);
  const Row& nw = cells.at("1000m_N3761_E20");
  EXPECT_EQ(nw.count, 3);
  EXPECT_EQ(nw.last_seen, "2024-07-10 08:00:00");  // 2024-07-10T00:00Z
  EXPECT_NEAR(nw.days, 20 + 16 / 24.0, 1e-9);      // 07-10 08:00 → 07-31 00:00
  EXPECT_DOUBLE_EQ(nw.sum, 4.0);                   // the empty distance is left out
  EXPECT_EQ(nw.majority, "B");
  const Row& se = cells.at("1000m_N3760_E21");
  EXPECT_EQ(se.count, with_edge_point ? 2 : 1);
  if (with_edge_point) {
    EXPECT_EQ(se.last_seen, "2024-07-20 12:00:00");
    EXPECT_NEAR(se.days, 10.5, 1e-9);
    EXPECT_DOUBLE_EQ(se.sum, 4.0);  // "x" is not a number
  } else {
    EXPECT_EQ(se.last_seen, "");  // its only point has an unreadable time
    EXPECT_TRUE(std::isnan(se.days));
  }
  EXPECT_EQ(se.majority, "C");
  for (const char* empty : {"1000m_N3760_E20", "1000m_N3761_E21"}) {
    const Row& r = cells.at(empty);
    EXPECT_EQ(r.count, 0) << empty;
    EXPECT_TRUE(std::isnan(r.days)) << empty;  // never patrolled: no time, not 0 days
    EXPECT_EQ(r.sum, 0) << empty;
    EXPECT_EQ(r.majority, "") << empty;
  }
}

}  // namespace

TEST(ZonalPoints, CsvInAProjectedCrsMatchesTheHandTable) {
  test::TempDir dir;
  test::write_text(dir / "region.geojson", kRegion);
  test::write_text(dir / "patrols.csv", kPoints);
  test::write_text(dir / "job.yaml",
                   job("{path: patrols.csv}", ",\n     x_field: x, y_field: y, crs: \"EPSG:4547\""));
  const auto r = test::run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_hand_table(read_cells(dir / "out/pts.gpkg", "patrols_"), true);
  // The R-tree built after the rows is a real GeoPackage spatial index (GDAL's own check).
  const auto index = test::run_command("ogrinfo " + (dir / "out/pts.gpkg") +
                                       " -sql \"SELECT HasSpatialIndex('cells', 'geom')\"");
  EXPECT_NE(index.output.find("HasSpatialIndex (Integer) = 1"), std::string::npos) << index.output;
  // Bad rows are counted and named; the outside point is reported.
  EXPECT_NE(r.output.find("2 rows skipped, bad or missing coordinates"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("row 8"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("5 of 8 points"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 outside every cell"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("'yesterday'"), std::string::npos) << r.output;
}

TEST(ZonalPoints, GeoJsonInLonLatAndGeoPackageGiveTheSameTable) {
  test::TempDir dir;
  test::write_text(dir / "region.geojson", kRegion);
  test::write_text(dir / "patrols.csv", kPoints);
  // Independent: PROJ through python-gdal writes the lon/lat GeoJSON (the edge point is left out:
  // a round trip through degrees may move it by a nanometre to either side); ogr2ogr the GeoPackage.
  const auto py = test::run_command(
      "cd " + dir.path().string() +
      " && /usr/bin/python3 - <<'PY'\n"
      "import csv, json\nfrom osgeo import osr\n"
      "s = osr.SpatialReference(); s.ImportFromEPSG(4547); t = osr.SpatialReference(); "
      "t.ImportFromEPSG(4326)\n"
      "t.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER); "
      "s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)\n"
      "ct = osr.CoordinateTransformation(s, t); feats = []\n"
      "for r in csv.DictReader(open('patrols.csv')):\n"
      "    if r['id'] == '4': continue\n"
      "    try: lon, lat, _ = ct.TransformPoint(float(r['x']), float(r['y'])); g = {'type': 'Point', "
      "'coordinates': [lon, lat]}\n"
      "    except ValueError: g = None\n"
      "    feats.append({'type': 'Feature', 'properties': {k: r[k] for k in ('time', 'ranger', "
      "'distance_km')}, 'geometry': g})\n"
      "json.dump({'type': 'FeatureCollection', 'features': feats}, open('patrols.geojson', 'w'))\n"
      "PY\n"
      "ogr2ogr -f GPKG patrols.gpkg patrols.csv -oo X_POSSIBLE_NAMES=x -oo Y_POSSIBLE_NAMES=y -a_srs "
      "EPSG:4547 "
      "-skipfailures 2>&1");
  ASSERT_EQ(py.exit_code, 0) << py.output;
  test::write_text(dir / "geojson.yaml", job("{path: patrols.geojson}", ""));
  auto r = test::run_qinling("run " + (dir / "geojson.yaml") + " --out " + (dir / "a"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_hand_table(read_cells(dir / "a/pts.gpkg", "patrols_"), false);
  EXPECT_NE(r.output.find("2 rows skipped"), std::string::npos) << r.output;  // the null geometries
  test::write_text(dir / "gpkg.yaml", job("{path: patrols.gpkg}", ", prefix: p_"));
  r = test::run_qinling("run " + (dir / "gpkg.yaml") + " --out " + (dir / "b"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto cells = read_cells(dir / "b/pts.gpkg", "p_");
  long total = 0;
  for (const auto& [id, row] : cells) total += row.count;
  EXPECT_EQ(total, 5);  // ogr2ogr keeps the edge point and drops nothing inside
  EXPECT_EQ(cells.at("1000m_N3761_E20").count, 3);
  EXPECT_EQ(cells.at("1000m_N3761_E20").last_seen, "2024-07-10 08:00:00");
}

TEST(ZonalPoints, WrongCoordinateColumnsAreAClearError) {
  test::TempDir dir;
  test::write_text(dir / "region.geojson", kRegion);
  test::write_text(dir / "patrols.csv", kPoints);
  test::write_text(dir / "job.yaml", job("{path: patrols.csv}", ""));  // default lon/lat columns
  const auto r = test::run_qinling("run " + (dir / "job.yaml") + " --out " + (dir / "out"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("patrols.csv: has no x (x_field) field 'lon' (fields: id, x, y"), std::string::npos)
      << r.output;
}

TEST(SupervisionPrevious, ChangeRulesReadThePreviousRun) {
  test::TempDir dir;
  test::write_text(dir / "region.geojson", kRegion);
  test::write_text(dir / "patrols.csv", kPoints);
  test::write_text(dir / "rules.yaml",
                   "levels: [blue, yellow]\nrules:\n"
                   "  - {level: yellow, when: \"delta_patrols_count <= -2\", reason: fewer patrols}\n"
                   "  - {level: blue, when: \"patrols_count == 0\"}\n");
  std::string text = job("{path: patrols.csv}", ", x_field: x, y_field: y, crs: \"EPSG:4547\"");
  text.replace(text.find("outputs:"), std::string::npos,
               "  - {id: alerts, kind: supervision.alerts, input: pts, rules: rules.yaml, previous: auto}\n"
               "outputs:\n  - {from: alerts, path: s.gpkg, format: gpkg}\n");
  test::write_text(dir / "job.yaml", text);
  const std::string run = "run " + (dir / "job.yaml") + " --out " + (dir / "out");
  auto r = test::run_qinling(run);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("no previous run at"), std::string::npos) << r.output;
  auto cells = read_cells(dir / "out/s.gpkg", "patrols_");
  EXPECT_EQ(cells.at("1000m_N3761_E20").texts.at("level"), "none");  // first run: no change to see
  EXPECT_EQ(cells.at("1000m_N3760_E20").texts.at("level"), "blue");
  EXPECT_EQ(cells.at("1000m_N3760_E20").numbers.count("delta_patrols_count"), 0u);  // null

  // Second run: the three patrols of the north-west cell are gone from the log.
  std::string fewer = kPoints;
  for (const char* row : {"1,20500", "2,20600", "3,20700"}) {
    const auto at = fewer.find(row);
    fewer.erase(at, fewer.find('\n', at) + 1 - at);
  }
  test::write_text(dir / "patrols.csv", fewer);
  r = test::run_qinling(run);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  cells = read_cells(dir / "out/s.gpkg", "patrols_");
  const Row& nw = cells.at("1000m_N3761_E20");
  EXPECT_EQ(nw.texts.at("level"), "yellow");
  EXPECT_EQ(nw.numbers.at("prev_patrols_count"), 3);
  EXPECT_EQ(nw.numbers.at("delta_patrols_count"), -3);
  EXPECT_EQ(nw.numbers.at("prev_level_code"), 0);
  EXPECT_EQ(nw.numbers.at("level_change"), 2);  // none → yellow
  EXPECT_NE(nw.texts.at("reason").find("delta_patrols_count = -3"), std::string::npos)
      << nw.texts.at("reason");
  EXPECT_EQ(cells.at("1000m_N3760_E20").numbers.at("level_change"), 0);  // blue both times
  const auto summary = nlohmann::json::parse(test::read_bytes(dir / "out/s.summary.json"));
  EXPECT_EQ(summary["previous"]["level_rose"], 1);
  EXPECT_EQ(summary["previous"]["level_unchanged"], 3);
}
