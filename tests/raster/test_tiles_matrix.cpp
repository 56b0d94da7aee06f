// Tile matrix maths against hand-computed values and the OGC 17-083r2 tables; PMTiles ids against
// the PMTiles v3 specification's examples; the directory encoding byte by byte.
#include <gtest/gtest.h>

#include "raster/pmtiles.hpp"
#include "raster/tile_matrix.hpp"

namespace qinling::raster {
namespace {

TEST(TileMatrix, WebMercatorScaleDenominatorsMatchTheOgcTable) {
  const auto& t = web_mercator_quad();
  // OGC 17-083r2 Annex D.1 (WebMercatorQuad).
  EXPECT_NEAR(t.scale_denominator(0), 559082264.028717, 1e-5);
  EXPECT_NEAR(t.scale_denominator(1), 279541132.014358, 1e-5);
  EXPECT_NEAR(t.scale_denominator(10), 545978.773465544, 1e-6);
  EXPECT_NEAR(t.scale_denominator(18), 2132.72958384978, 1e-7);
  EXPECT_NEAR(t.resolution(0), 156543.033928041, 1e-8);
  EXPECT_EQ(t.matrix_width(3), 8);
  EXPECT_EQ(t.matrix_height(3), 8);
}

TEST(TileMatrix, Cgcs2000QuadIsTiandituLevelNumbering) {
  const auto& t = cgcs2000_quad();
  EXPECT_EQ(t.min_level, 1);
  EXPECT_EQ(t.matrix_width(1), 2);  // level 1 = 2x1 tiles of 180 degrees
  EXPECT_EQ(t.matrix_height(1), 1);
  EXPECT_EQ(t.matrix_width(4), 16);
  EXPECT_EQ(t.matrix_height(4), 8);
  EXPECT_DOUBLE_EQ(t.resolution(1), 0.703125);
  // Level 1 has the scale of WorldCRS84Quad level 0 in OGC 17-083r2 Annex D.2.
  EXPECT_NEAR(t.scale_denominator(1), 279541132.014358, 1e-5);
  EXPECT_NEAR(t.scale_denominator(2), 139770566.007179, 1e-5);
}

TEST(TileMatrix, TileBounds) {
  const auto& m = web_mercator_quad();
  const double h = 20037508.342789244;
  BBox b = m.tile_bounds(1, 0, 0);
  EXPECT_NEAR(b.xmin, -h, 1e-6);
  EXPECT_NEAR(b.xmax, 0, 1e-6);
  EXPECT_NEAR(b.ymin, 0, 1e-6);
  EXPECT_NEAR(b.ymax, h, 1e-6);
  b = cgcs2000_quad().tile_bounds(2, 3, 1);  // 4x2 tiles of 90 degrees: the south-east one
  EXPECT_DOUBLE_EQ(b.xmin, 90);
  EXPECT_DOUBLE_EQ(b.xmax, 180);
  EXPECT_DOUBLE_EQ(b.ymin, -90);
  EXPECT_DOUBLE_EQ(b.ymax, 0);
}

TEST(TileMatrix, TileRangeOfAPointInTheQinling) {
  // 108.9E 33.9N at CGCS2000 level 10: tiles of 180/2^9 = 0.3515625 degrees;
  // col = floor(288.9 / 0.3515625) = 821, row = floor(56.1 / 0.3515625) = 159.
  const TileRange r = tile_range(cgcs2000_quad(), 10, {108.9, 33.9, 108.9001, 33.9001});
  EXPECT_EQ(r.col0, 821);
  EXPECT_EQ(r.row0, 159);
  EXPECT_EQ(r.count(), 1);
}

TEST(TileMatrix, ZoomFromResolutionLikeGdal2tiles) {
  const auto& m = web_mercator_quad();
  EXPECT_EQ(max_zoom_for(m, 30.0), 12);  // z12 is 38.2 m, z13 19.1 m: do not oversample
  EXPECT_EQ(max_zoom_for(m, m.resolution(12)), 12);
  EXPECT_EQ(min_zoom_for(m, 256 * 38.21851), 12);
}

TEST(TileMatrix, TmsRowFlip) {
  EXPECT_EQ(tms_row(1 << 3, 0), 7);
  EXPECT_EQ(tms_row(1 << 3, 7), 0);
  EXPECT_EQ(tms_row(1, 0), 0);
}

TEST(Pmtiles, TileIdsMatchTheSpecificationExamples) {
  EXPECT_EQ(pmtiles_tile_id(0, 0, 0), 0u);
  EXPECT_EQ(pmtiles_tile_id(1, 0, 0), 1u);
  EXPECT_EQ(pmtiles_tile_id(1, 0, 1), 2u);
  EXPECT_EQ(pmtiles_tile_id(1, 1, 1), 3u);
  EXPECT_EQ(pmtiles_tile_id(1, 1, 0), 4u);
  EXPECT_EQ(pmtiles_tile_id(2, 0, 0), 5u);
  EXPECT_EQ(pmtiles_tile_id(12, 3423, 1763), 19078479u);
}

TEST(Pmtiles, DirectoryEncodingByteByByte) {
  // Two contiguous tiles: count 2; id deltas 0,1; runs 1,1; lengths 10,20; offsets 0+1, then 0 (contiguous).
  const std::vector<PmtilesEntry> e = {{0, 0, 10, 1}, {1, 10, 20, 1}};
  EXPECT_EQ(pmtiles_encode_directory(e), std::string("\x02\x00\x01\x01\x01\x0a\x14\x01\x00", 9));
  const auto back = pmtiles_decode_directory(pmtiles_encode_directory(e));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].offset, 10u);
  EXPECT_EQ(back[1].length, 20u);
}

}  // namespace
}  // namespace qinling::raster
