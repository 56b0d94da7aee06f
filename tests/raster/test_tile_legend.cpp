// Legends for the viewer: sampled from the ramp as rendered (hand-known end colours of a stop ramp,
// a categorical ramp's classes as given), and kept through tileset.json.
#include <gtest/gtest.h>

#include "raster/tile_metadata.hpp"

namespace qinling::raster {
namespace {

ColourRamp two_stops() {
  ColourRamp r;
  r.name = "test";
  r.stops = {{0, {0, 0, 255, 255}}, {1, {255, 0, 0, 255}}};
  return r;
}

TEST(TileLegend, ContinuousSamplesTheRenderedRangeAndCategoricalKeepsClasses) {
  const RampRenderer rr(two_stops(), 10, 50);
  const Legend l = make_legend(two_stops(), rr);
  ASSERT_EQ(l.entries.size(), 9u);
  EXPECT_DOUBLE_EQ(l.entries.front().value, 10);
  EXPECT_DOUBLE_EQ(l.entries.back().value, 50);
  EXPECT_EQ(l.entries.front().colour, (Rgba{0, 0, 255, 255}));
  EXPECT_EQ(l.entries.back().colour, (Rgba{255, 0, 0, 255}));
  EXPECT_NEAR(l.entries[4].colour[0], 127.5, 2);  // halfway along a linear ramp

  ColourRamp c;
  c.name = "alerts";
  c.kind = RampKind::categorical;
  c.classes = {{1, {0, 0, 255, 255}, "blue"}, {4, {215, 25, 28, 255}, "red"}};
  const Legend lc = make_legend(c, RampRenderer(c, 1, 4));
  ASSERT_EQ(lc.entries.size(), 2u);
  EXPECT_EQ(lc.entries[1].label, "red");
  EXPECT_EQ(legend_json(lc),
            R"({"ramp": "alerts", "kind": "categorical", "entries": [{"value": 1, "colour": "#0000ffff", "label": "blue"}, )"
            R"({"value": 4, "colour": "#d7191cff", "label": "red"}]})");
}

TEST(TileLegend, ManifestRoundTrip) {
  WmtsLayer w;
  w.id = w.title = "ndvi";
  w.lonlat = {108, 33, 109, 34};
  w.sets.push_back({&web_mercator_quad(), {{3, 1, 2, 1, 2}}, ""});
  ColourRamp c;
  c.kind = RampKind::categorical;
  c.name = "alerts";
  c.classes = {{-1.5, {1, 2, 3, 4}, "low"}, {2, {200, 100, 50, 255}, "high"}};
  w.legend = make_legend(c, RampRenderer(c, -1.5, 2));
  const WmtsLayer back = parse_tileset_manifest(tileset_manifest(w), "tileset.json");
  EXPECT_EQ(back.id, "ndvi");
  ASSERT_EQ(back.sets.size(), 1u);
  ASSERT_TRUE(back.legend);
  EXPECT_EQ(back.legend->ramp, "alerts");
  EXPECT_EQ(back.legend->kind, RampKind::categorical);
  ASSERT_EQ(back.legend->entries.size(), 2u);
  EXPECT_DOUBLE_EQ(back.legend->entries[0].value, -1.5);
  EXPECT_EQ(back.legend->entries[0].colour, (Rgba{1, 2, 3, 4}));
  EXPECT_EQ(back.legend->entries[1].label, "high");
  // An RGB layer has no legend, and its manifest none either.
  w.legend.reset();
  EXPECT_FALSE(parse_tileset_manifest(tileset_manifest(w), "tileset.json").legend);
}

}  // namespace
}  // namespace qinling::raster
