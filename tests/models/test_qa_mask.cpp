// Quality masks against hand-worked Landsat QA_PIXEL values and Sentinel-2 SCL classes.
#include <gtest/gtest.h>

#include "models/qa_mask.hpp"
#include "models/terrain.hpp"

using qinling::models::QaMask;

TEST(QaMask, LandsatBits) {
  const QaMask m = QaMask::from_bits({3, 4});  // cloud, cloud shadow
  EXPECT_FALSE(m.masked(21824));  // clear land: bits 6, 8, 10, 12, 14
  EXPECT_TRUE(m.masked(22280));   // cloud: bit 3 set (22280 = 0b101011100001000)
  EXPECT_TRUE(m.masked(23888));   // shadow: bit 4 set
  EXPECT_FALSE(m.masked(21762));  // dilated cloud only (bit 1): not asked for
  EXPECT_FALSE(m.masked(30048));  // snow (bit 5)
}

TEST(QaMask, SentinelClassesAndMerge) {
  QaMask m = QaMask::from_classes({8, 9});
  EXPECT_TRUE(m.masked(9));
  EXPECT_FALSE(m.masked(4));  // vegetation
  m.merge(QaMask::from_classes({3}));
  EXPECT_TRUE(m.masked(3));
  EXPECT_FALSE(QaMask().masked(12345));
  EXPECT_TRUE(QaMask().empty());
}

TEST(Terrain, PlaneOfKnownSlopeAndAspect) {
  // z = 0.5 x (metres east) on 10 m pixels: rises to the east by 5 m per pixel → slope atan(0.5),
  // faces west (downslope azimuth 270°).
  float w[9];
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) w[r * 3 + c] = float(100 + 5 * c);
  EXPECT_NEAR(qinling::models::slope_degrees(w, 10, 10), std::atan(0.5) * 180 / M_PI, 1e-4);
  EXPECT_NEAR(qinling::models::aspect_degrees(w), 270.0, 1e-4);
  // Rising to the north (row 0 is north): faces south, 180°.
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) w[r * 3 + c] = float(100 + 5 * (2 - r));
  EXPECT_NEAR(qinling::models::aspect_degrees(w), 180.0, 1e-4);
  // Flat: slope 0, aspect undefined, hillshade = 1 + 254 sin(45°).
  for (auto& v : w) v = 50;
  EXPECT_EQ(qinling::models::slope_degrees(w, 10, 10), 0.0f);
  EXPECT_TRUE(std::isnan(qinling::models::aspect_degrees(w)));
  EXPECT_NEAR(qinling::models::hillshade(w, 10, 10), 1 + 254 * std::sqrt(0.5), 1e-3);
}
