// Incremental tiling: after a 500x500-pixel area of the layer changes, a re-run draws exactly the
// tiles that area touches (found independently: tile squares against the area's outline
// transformed by OGR, intersected with GEOS), keeps every other tile byte for byte, and ends with
// the same XYZ folders, MBTiles rows and PMTiles bytes as a fresh build of the changed layer.
#include <gdal_priv.h>
#include <ogr_geometry.h>
#include <ogr_spatialref.h>
#include <sqlite3.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "raster/gdal_io.hpp"
#include "raster/tileset.hpp"
#include "support/test_support.hpp"

namespace qinling::raster {
namespace {
namespace fs = std::filesystem;

constexpr int kW = 1100, kH = 1000;
constexpr double kX0 = 19050, kY0 = 3773310, kPx = 30;  // EPSG:4547, 30 m (the sample scene's corner)
constexpr int kAx = 300, kAy = 250, kA = 500;            // the changed area: [kAx, kAx+500) x [kAy, kAy+500)

void write_layer(const std::string& path, bool changed) {
  init_gdal();
  DatasetPtr ds(GetGDALDriverManager()->GetDriverByName("GTiff")->Create(path.c_str(), kW, kH, 1, GDT_Float32, nullptr));
  double gt[6] = {kX0, kPx, 0, kY0, 0, -kPx};
  ds->SetGeoTransform(gt);
  OGRSpatialReference srs;
  srs.importFromEPSG(4547);
  ds->SetSpatialRef(&srs);
  ds->GetRasterBand(1)->SetNoDataValue(NAN);
  std::vector<float> v(std::size_t(kW) * kH);
  for (int y = 0; y < kH; ++y)
    for (int x = 0; x < kW; ++x) {
      const bool in = changed && x >= kAx && x < kAx + kA && y >= kAy && y < kAy + kA;
      v[std::size_t(y) * kW + x] = in ? float(0.95 - 0.0002 * x) : float(0.8 * std::sin(x * 0.013) * std::cos(y * 0.017));
    }
  ASSERT_EQ(ds->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, kW, kH, v.data(), kW, kH, GDT_Float32, 0, 0, nullptr), CE_None);
}

using TileSet = std::set<std::tuple<int, int, int>>;

// Tiles of level z whose square intersects the changed area grown by `grow` source pixels (the
// area's outline transformed densely into the set's CRS).
TileSet touched(const TileMatrixSet& tms, int z, double grow) {
  OGRSpatialReference src, dst;
  src.importFromEPSG(4547);
  dst.importFromEPSG(tms.epsg);
  src.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  dst.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  std::unique_ptr<OGRCoordinateTransformation> ct(OGRCreateCoordinateTransformation(&src, &dst));
  const double a0x = kAx - grow, a0y = kAy - grow, a1x = kAx + kA + grow, a1y = kAy + kA + grow;
  OGRLinearRing ring;
  const double corners[5][2] = {{a0x, a0y}, {a1x, a0y}, {a1x, a1y}, {a0x, a1y}, {a0x, a0y}};
  for (int e = 0; e < 4; ++e)
    for (int i = 0; i < 100; ++i) {
      const double t = i / 100.0;
      double px = corners[e][0] + (corners[e + 1][0] - corners[e][0]) * t;
      double py = corners[e][1] + (corners[e + 1][1] - corners[e][1]) * t;
      double x = kX0 + px * kPx, y = kY0 - py * kPx;
      EXPECT_TRUE(ct->Transform(1, &x, &y));
      ring.addPoint(x, y);
    }
  ring.closeRings();
  OGRPolygon area;
  area.addRing(&ring);
  OGREnvelope env;
  area.getEnvelope(&env);
  const double span = tms.resolution(z) * tms.tile_size;
  TileSet out;
  for (int ty = int(std::floor((tms.origin_y - env.MaxY) / span)); ty <= int(std::floor((tms.origin_y - env.MinY) / span)); ++ty)
    for (int tx = int(std::floor((env.MinX - tms.origin_x) / span)); tx <= int(std::floor((env.MaxX - tms.origin_x) / span)); ++tx) {
      OGRLinearRing sq;
      const double x0 = tms.origin_x + tx * span, y1 = tms.origin_y - ty * span;
      sq.addPoint(x0, y1);
      sq.addPoint(x0 + span, y1);
      sq.addPoint(x0 + span, y1 - span);
      sq.addPoint(x0, y1 - span);
      sq.closeRings();
      OGRPolygon tile;
      tile.addRing(&sq);
      if (tile.Intersects(&area)) out.emplace(z, tx, ty);
    }
  return out;
}

using Files = std::map<std::string, std::string>;  // relative path → bytes

Files read_tree(const fs::path& dir) {
  Files f;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) f[fs::relative(e.path(), dir).string()] = test::read_bytes(e.path().string());
  return f;
}

std::vector<std::string> sql_rows(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  std::vector<std::string> rows;
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::string r;
    for (int c = 0; c < sqlite3_column_count(st); ++c) {
      const auto* b = static_cast<const char*>(sqlite3_column_blob(st, c));
      r += std::string(b ? b : "", std::size_t(sqlite3_column_bytes(st, c))) + "|";
    }
    rows.push_back(r);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

TilesetRequest request(const std::string& layer, const fs::path& out) {
  TilesetRequest req;
  req.source = layer;
  req.name = "layer";
  req.matrix_sets = {"WebMercatorQuad", "CGCS2000Quad"};
  req.zoom = ZoomRange{10, 13};
  req.range = std::pair{-1.0, 1.0};
  req.xyz_dir = (out / "layer").string();
  req.mbtiles_path = (out / "layer.mbtiles").string();
  req.pmtiles_path = (out / "layer.pmtiles").string();
  req.threads = 2;
  return req;
}

const char* kMbtilesRows = "SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles ORDER BY 1, 2, 3";

TEST(TilesIncremental, ChangedAreaRedrawsExactlyTheTilesItTouchesAndMatchesAFreshBuild) {
  test::TempDir tmp;
  const std::string layer = tmp / "layer.tif";
  write_layer(layer, false);
  const fs::path inc = tmp.path() / "inc", fresh = tmp.path() / "fresh";
  const TilesetReport first = build_tileset(request(layer, inc));
  for (const auto& s : first.sets) {
    EXPECT_EQ(s.render, "no previous render") << s.id;
    EXPECT_EQ(s.drawn, s.tiles);
  }
  const Files before = read_tree(inc / "layer");

  write_layer(layer, true);
  const TilesetReport second = build_tileset(request(layer, inc));
  const Files after = read_tree(inc / "layer");
  ASSERT_EQ(second.sets.size(), 2u);
  for (const auto& s : second.sets) {
    const TileMatrixSet& tms = tile_matrix_set(s.id);
    ASSERT_EQ(s.render, "incremental") << s.id;
    // The deepest tiles the area touches; the same with the area 1.5 pixels smaller or larger, so
    // bilinear neighbours and the 1/8-pixel transform approximation cannot change the answer.
    const TileSet deep = touched(tms, 13, 1.5);
    ASSERT_EQ(deep, touched(tms, 13, -1.5)) << s.id << ": the area's edges are too close to tile edges";
    ASSERT_GE(deep.size(), 9u);
    std::map<int, TileSet> expected{{13, deep}};
    for (int z = 12; z >= 10; --z)
      for (const auto& [cz, x, y] : expected[z + 1]) expected[z].emplace(z, x / 2, y / 2);
    for (int z = 10; z <= 13; ++z)
      EXPECT_EQ(s.drawn_per_zoom.at(std::size_t(z - 10)), (long long)expected[z].size()) << s.id << " z" << z;
    long long n = 0;
    for (const auto& [z, t] : expected) n += (long long)t.size();
    EXPECT_EQ(s.drawn, n) << s.id;
    EXPECT_EQ(s.kept, s.tiles - n) << s.id;
    EXPECT_GT(s.kept, s.drawn) << s.id;
    // Tiles outside the expected set are byte for byte those of the first run; inside, the deepest
    // ones all changed.
    long long same = 0;
    for (const auto& [rel, bytes] : after) {
      if (rel.compare(0, s.id.size() + 1, s.id + "/") != 0) continue;
      const fs::path p(rel);
      const int y = std::stoi(p.stem().string()), x = std::stoi(p.parent_path().filename().string()),
                z = std::stoi(p.parent_path().parent_path().filename().string());
      auto old = before.find(rel);
      ASSERT_NE(old, before.end()) << rel;
      if (!expected[z].count({z, x, y})) {
        EXPECT_EQ(old->second, bytes) << rel;
        ++same;
      } else if (z == 13) {
        EXPECT_NE(old->second, bytes) << rel;
      }
    }
    EXPECT_EQ(same, s.kept) << s.id;
  }

  // The same outputs as a fresh build of the changed layer.
  const TilesetReport scratch = build_tileset(request(layer, fresh));
  for (const auto& s : scratch.sets) EXPECT_EQ(s.render, "no previous render");
  EXPECT_TRUE(read_tree(fresh / "layer") == after) << "XYZ folders (tiles, tilejson, WMTS, manifests) differ";
  EXPECT_EQ(test::read_bytes((inc / "layer.pmtiles").string()), test::read_bytes((fresh / "layer.pmtiles").string()));
  const std::string inc_mb = (inc / "layer.mbtiles").string(), fresh_mb = (fresh / "layer.mbtiles").string();
  EXPECT_TRUE(sql_rows(inc_mb, kMbtilesRows) == sql_rows(fresh_mb, kMbtilesRows)) << "MBTiles tiles differ";
  EXPECT_EQ(sql_rows(inc_mb, "SELECT name, value FROM metadata ORDER BY name"),
            sql_rows(fresh_mb, "SELECT name, value FROM metadata ORDER BY name"));
  // Identical tiles stored once, no image left without a row.
  EXPECT_EQ(sql_rows(inc_mb, "SELECT count(*) FROM images"), sql_rows(fresh_mb, "SELECT count(*) FROM images"));
  EXPECT_EQ(sql_rows(inc_mb, "SELECT count(*) FROM images WHERE tile_id NOT IN (SELECT tile_id FROM map)")[0], "0|");
  DatasetPtr gdal_mb(GDALDataset::Open(inc_mb.c_str(), GDAL_OF_RASTER));
  EXPECT_TRUE(gdal_mb) << "GDAL's MBTiles driver cannot open the updated file";
  for (const auto& e : fs::directory_iterator(inc))
    EXPECT_EQ(e.path().filename().string().find("partial"), std::string::npos) << "left behind: " << e.path();
}

TEST(TilesIncremental, UnchangedRerunKeepsEverythingAndChangedSettingsOrOutputsRedrawAll) {
  test::TempDir tmp;
  const std::string layer = tmp / "layer.tif";
  write_layer(layer, false);
  TilesetRequest req = request(layer, tmp.path());
  req.zoom = ZoomRange{10, 12};
  build_tileset(req);
  const std::string pm = test::read_bytes(req.pmtiles_path);
  for (const auto& s : build_tileset(req).sets) {
    EXPECT_EQ(s.render, "incremental");
    EXPECT_EQ(s.drawn, 0) << s.id;
    EXPECT_EQ(s.kept, s.tiles) << s.id;
  }
  EXPECT_EQ(test::read_bytes(req.pmtiles_path), pm);

  // An output that is not the previous render (here: replaced by another tool) means a full render
  // of its matrix set; the other set stays incremental.
  fs::remove(req.pmtiles_path);
  for (const auto& s : build_tileset(req).sets) {
    if (s.id == "WebMercatorQuad") {
      EXPECT_EQ(s.render, "the PMTiles file is not the previous render");
      EXPECT_EQ(s.drawn, s.tiles);
    } else {
      EXPECT_EQ(s.render, "incremental");
      EXPECT_EQ(s.drawn, 0);
    }
  }
  EXPECT_EQ(test::read_bytes(req.pmtiles_path), pm);

  // Another value range changes every colour: everything is drawn again.
  req.range = std::pair{-0.5, 0.5};
  for (const auto& s : build_tileset(req).sets) {
    EXPECT_EQ(s.render, "render settings changed");
    EXPECT_EQ(s.drawn, s.tiles);
  }
}

}  // namespace
}  // namespace qinling::raster
