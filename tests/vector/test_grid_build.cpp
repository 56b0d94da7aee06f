// The supervision-grid builder: cell IDs, clipping and fractions against analytic areas, repair
// of invalid regions, and the Shaanxi boundary (real data) against OGR's own area.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <numeric>

#include "models/errors.hpp"
#include "raster/source.hpp"
#include "support/test_support.hpp"
#include "vector/overlay.hpp"
#include "vector/polygons.hpp"
#include "vector/supervision_grid.hpp"

using namespace qinling;
using vector::Shape;

namespace {

const std::string& wkt4547() {
  static const std::string w = raster::crs_to_wkt("EPSG:4547");
  return w;
}

const vector::Column& col(const vector::CellTable& t, const std::string& name) {
  return t.columns.at(t.find(name));
}

}  // namespace

TEST(GridBuild, ClipsToTheRegionWithStableIds) {
  // A 2500 x 1500 m rectangle whose south-west corner is (500 250, 3 700 000): 3 x 2 candidate
  // cells of 1 km, clipped on the east (500 m) and north (500 m).
  const Shape region = Shape::rectangle(500000, 3700000, 502500, 3701500);
  const auto t = vector::build_grid({region}, wkt4547(), 1000, 2);
  ASSERT_EQ(t.size(), 6u);
  // North row first, west to east.
  EXPECT_EQ((*t.ids)[0], "1000m_N3701_E500");
  EXPECT_EQ((*t.ids)[5], "1000m_N3700_E502");
  const std::vector<double> expect = {0.5, 0.5, 0.25, 1, 1, 0.5};
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_NEAR(col(t, "region_fraction").numbers[i], expect[i], 1e-12) << (*t.ids)[i];
    EXPECT_NEAR(col(t, "area_m2").numbers[i], expect[i] * 1e6, 1e-6);
  }
  EXPECT_EQ(col(t, "grid_row").numbers[0], 3701);
  EXPECT_EQ(col(t, "grid_col").numbers[2], 502);
  // The same cell keeps its ID when the region grows.
  const auto bigger =
      vector::build_grid({Shape::rectangle(497000, 3698000, 503000, 3703000)}, wkt4547(), 1000, 1);
  EXPECT_NE(std::find(bigger.ids->begin(), bigger.ids->end(), "1000m_N3700_E502"), bigger.ids->end());
}

TEST(GridBuild, RepairsASelfIntersectingRegion) {
  test::TempDir dir;
  // A bow-tie (self-intersecting) in lon/lat: make-valid splits it into two triangles.
  test::write_text(
      dir / "bowtie.geojson",
      R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":)"
      R"({"type":"Polygon","coordinates":[[[108.9,33.9],[109.0,34.0],[109.0,33.9],[108.9,34.0],[108.9,33.9]]]}}]})");
  const auto layer = vector::read_polygons(dir / "bowtie.geojson", wkt4547(), {});
  EXPECT_EQ(layer.repaired, 1);
  ASSERT_EQ(layer.shapes.size(), 1u);
  EXPECT_EQ(layer.shapes[0].polygon_ends.size(), 2u);
  const auto t = vector::build_grid(layer.shapes, wkt4547(), 1000, 2);
  const auto& area = col(t, "area_m2").numbers;
  EXPECT_NEAR(std::accumulate(area.begin(), area.end(), 0.0), layer.shapes[0].area(),
              1e-6 * layer.shapes[0].area());
}

TEST(ZonesOverlay, SharesOfCellsInsideZones) {
  const auto cells = vector::build_grid({Shape::rectangle(0, 0, 3000, 1000)}, wkt4547(), 1000, 2);
  std::vector<vector::Zone> zones = {{"A", "national", Shape::rectangle(500, 0, 1500, 1000)},
                                     {"B", "provincial", Shape::rectangle(1750, 250, 2250, 750)}};
  const auto hits = vector::overlay_zones(*cells.shapes, zones);
  ASSERT_EQ(hits.size(), 3u);  // cells E0, E1, E2
  ASSERT_EQ(hits[0].size(), 1u);
  EXPECT_NEAR(hits[0][0].second, 0.5, 1e-12);
  ASSERT_EQ(hits[1].size(), 2u);
  EXPECT_EQ(hits[1][0].first, 0u);
  EXPECT_NEAR(hits[1][0].second, 0.5, 1e-12);
  EXPECT_NEAR(hits[1][1].second, 0.125, 1e-12);  // 250 x 500 of B in E1
  EXPECT_NEAR(hits[2][0].second, 0.125, 1e-12);
}

TEST(GridBuild, ShaanxiBoundaryWorksAfterRepair) {
  const std::string real = test::real_data_dir();
  if (real.empty()) GTEST_SKIP() << "QINLING_REAL_DATA not set";
  const std::string path = real + "/vector/echarts_shaanxi/shaanxi_prefectures.geojson";
  const auto layer = vector::read_polygons(path, wkt4547(), {"name"});
  EXPECT_GE(layer.repaired, 2);  // 汉中市 and 商洛市 self-intersect
  const auto t = vector::build_grid(layer.shapes, wkt4547(), 10000, 2);
  const auto& area = col(t, "area_m2").numbers;
  const double total = std::accumulate(area.begin(), area.end(), 0.0);
  // Reference: OGR (MakeValid, union, reprojection) computed by GDAL's Python bindings.
  test::TempDir dir;
  test::write_text(dir / "area.py",
                   "from osgeo import ogr, osr\n"
                   "ds = ogr.Open('" +
                       path +
                       "'); lyr = ds.GetLayer(0)\n"
                       "u = None\n"
                       "for f in lyr:\n"
                       "    g = f.GetGeometryRef().MakeValid()\n"
                       "    u = g.Clone() if u is None else u.Union(g)\n"
                       "s = osr.SpatialReference(); s.ImportFromEPSG(4326); "
                       "s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)\n"
                       "d = osr.SpatialReference(); d.ImportFromEPSG(4547); "
                       "d.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)\n"
                       "u.Transform(osr.CoordinateTransformation(s, d)); print(u.GetArea())\n");
  const auto r = test::run_command("/usr/bin/python3 " + (dir / "area.py") + " 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const double expect = std::stod(r.output);
  EXPECT_NEAR(total, expect, 1e-4 * expect);
  EXPECT_GT(t.size(), 1800u);  // ~205 000 km² in 100 km² cells
}

TEST(GridLoad, MultiPolygonCellsAndDuplicateIds) {
  test::TempDir dir;
  // Cells stored as one-part MultiPolygons (as our GeoPackages write them) keep their rectangles.
  auto cell = [](const char* id, int x) {
    return std::string(R"({"type":"Feature","properties":{"cell_id":")") + id +
           R"("},"geometry":{"type":"MultiPolygon","coordinates":[[[[)" + std::to_string(x) + ",0],[" +
           std::to_string(x + 100) + ",0],[" + std::to_string(x + 100) + ",100],[" + std::to_string(x) +
           ",100],[" + std::to_string(x) + ",0]]]]}}";
  };
  const std::string head =
      R"({"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4547"}},"features":[)";
  test::write_text(dir / "ok.geojson", head + cell("a", 0) + "," + cell("b", 100) + "," + cell("c", 200) + "]}");
  const auto t = vector::load_grid(dir / "ok.geojson", "cell_id", wkt4547());
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ((*t.ids)[2], "c");
  EXPECT_EQ((*t.shapes)[1].points.size(), 5u);
  EXPECT_DOUBLE_EQ(col(t, "area_m2").numbers[1], 10000);
  test::write_text(dir / "dup.geojson", head + cell("a", 0) + "," + cell("b", 100) + "," + cell("a", 200) + "]}");
  try {
    vector::load_grid(dir / "dup.geojson", "cell_id", wkt4547());
    FAIL() << "duplicate IDs accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("cell_id 'a' is used twice"), std::string::npos) << e.what();
  }
}
