// The URL router of `qinling serve`: what each URL is taken to mean, and that nothing a client
// sends (traversal, encoded or absolute paths, huge or negative numbers) becomes a tile outside
// the matrix or a layer name with a slash.
#include <gtest/gtest.h>

#include "pipeline/tile_router.hpp"

using qinling::pipeline::route_tile_request;
using qinling::pipeline::TileRoute;
using Kind = TileRoute::Kind;

namespace {
TileRoute route(const std::string& path, std::multimap<std::string, std::string> params = {}) {
  return route_tile_request(path, params);
}
}  // namespace

TEST(TileRouter, XyzAndMatrixSetTiles) {
  auto r = route("/rgb/3/2/7.png");
  ASSERT_EQ(r.kind, Kind::tile);
  EXPECT_EQ(r.layer, "rgb");
  EXPECT_EQ(r.matrix_set, "WebMercatorQuad");
  EXPECT_EQ(r.z, 3);
  EXPECT_EQ(r.x, 2);
  EXPECT_EQ(r.y, 7);
  r = route("/rgb.pmtiles/CGCS2000Quad/4/15/0.webp");
  ASSERT_EQ(r.kind, Kind::tile);
  EXPECT_EQ(r.layer, "rgb.pmtiles");
  EXPECT_EQ(r.matrix_set, "CGCS2000Quad");
  EXPECT_EQ(route("/rgb/tilejson.json").kind, Kind::tilejson);
  EXPECT_EQ(route("/").kind, Kind::index);
  EXPECT_EQ(route("/wmts/1.0.0/WMTSCapabilities.xml").kind, Kind::capabilities);
}

TEST(TileRouter, TilesOutsideTheMatrixAreNotFound) {
  EXPECT_EQ(route("/rgb/3/8/0.png").kind, Kind::not_found);  // x = 2^3
  EXPECT_EQ(route("/rgb/3/0/8.png").kind, Kind::not_found);
  EXPECT_EQ(route("/rgb/31/0/0.png").kind, Kind::not_found);
  EXPECT_EQ(route("/rgb/99999999999/0/0.png").kind, Kind::not_found);  // would overflow an int
  EXPECT_EQ(route("/rgb/-1/0/0.png").kind, Kind::not_found);
  EXPECT_EQ(route("/rgb/1/0/0.jpg").kind, Kind::not_found);
  EXPECT_EQ(route("/rgb/EPSG3857/1/0/0.png").kind, Kind::not_found);
  EXPECT_EQ(route("/rgb/30/1073741823/1073741823.png").kind, Kind::tile);
}

TEST(TileRouter, TraversalNeverYieldsAPathLikeLayer) {
  // Paths as the server hands them over, i.e. already percent-decoded.
  for (const std::string p :
       {"/../../etc/passwd", "/..", "/../rgb/0/0/0.png", "//etc/passwd", "/rgb//0/0/0.png",
        "/rgb/../../../secret/0/0/0.png", "/etc/passwd", "rgb/0/0/0.png", ""}) {
    const auto r = route(p);
    EXPECT_TRUE(r.kind == Kind::not_found || r.layer.find('/') == std::string::npos) << p;
    EXPECT_NE(r.kind, Kind::tilejson) << p;
  }
  // ".." as a whole layer name is only ever looked up in the table of layers (and not found there).
  const auto r = route("/../0/0/0.png");
  EXPECT_TRUE(r.kind != Kind::tile || r.layer == "..");
}

TEST(TileRouter, WmtsKeyValuePairs) {
  auto r = route("/wmts", {{"service", "WMTS"},
                           {"Request", "GetTile"},
                           {"LAYER", "rgb"},
                           {"tilematrixset", "CGCS2000Quad"},
                           {"TileMatrix", "2"},
                           {"TileCol", "3"},
                           {"TileRow", "1"}});
  ASSERT_EQ(r.kind, Kind::tile);
  EXPECT_EQ(r.matrix_set, "CGCS2000Quad");
  EXPECT_EQ(r.x, 3);
  EXPECT_EQ(route("/wmts", {{"REQUEST", "GetCapabilities"}}).kind, Kind::capabilities);
  EXPECT_EQ(route("/wmts", {{"REQUEST", "DeleteEverything"}}).kind, Kind::bad_request);
  EXPECT_EQ(route("/wmts", {{"REQUEST", "GetTile"},
                            {"LAYER", "rgb"},
                            {"TILEMATRIXSET", "WebMercatorQuad"},
                            {"TILEMATRIX", "x"},
                            {"TILECOL", "0"},
                            {"TILEROW", "0"}})
                .kind,
            Kind::bad_request);
  EXPECT_EQ(route("/wmts", {{"REQUEST", "GetTile"},
                            {"LAYER", "rgb"},
                            {"TILEMATRIXSET", "../../etc"},
                            {"TILEMATRIX", "0"},
                            {"TILECOL", "0"},
                            {"TILEROW", "0"}})
                .kind,
            Kind::not_found);
}

TEST(TileRouter, VeryLongPathsAreRoutedWithoutTrouble) {
  const std::string deep(200000, '/');
  EXPECT_EQ(route(deep).kind, Kind::not_found);
  EXPECT_EQ(route("/" + std::string(100000, 'a') + "/0/0/0.png").kind,
            Kind::tile);  // a long unknown layer: 404 later
  EXPECT_EQ(route("/rgb/" + std::string(5000, '1') + "/0/0.png").kind, Kind::not_found);
}

TEST(TileRouter, ViewerRoutesReachOnlyTheListedAssets) {
  EXPECT_EQ(route("/viewer/").kind, Kind::index);
  EXPECT_EQ(route("/layers.json").kind, Kind::layers);
  EXPECT_EQ(route("/stats").kind, Kind::stats);
  const auto a = route("/viewer/ol.js");
  ASSERT_EQ(a.kind, Kind::viewer_asset);
  EXPECT_EQ(a.asset, "ol.js");
  EXPECT_EQ(route("/viewer/../tileset.json").kind, Kind::not_found);
  EXPECT_EQ(route("/viewer/ol.js.map").kind, Kind::not_found);
  EXPECT_EQ(route("/viewer/index.html/x").kind, Kind::not_found);
  // A layer named "viewer" keeps its tiles and TileJSON.
  EXPECT_EQ(route("/viewer/3/1/2.png").kind, Kind::tile);
  EXPECT_EQ(route("/viewer/tilejson.json").kind, Kind::tilejson);
}
