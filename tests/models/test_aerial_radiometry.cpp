// Gain compensation and the visible-band indices against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "models/aerial_radiometry.hpp"

using namespace qinling::models;

TEST(AerialGains, TwoFramesMeetInTheMiddleWithinHalfAPercent) {
  // Frame 0 reads 100 where frame 1 reads 120 over the same ground: g0*100 must equal g1*120, and
  // the prior keeps the gains around 1 (Brown & Lowe): g0 ~ 1.09, g1 ~ 0.91.
  const auto g = solve_gains(2, {{0, 1, 100.0, 120.0, 5000}});
  ASSERT_EQ(g.size(), 2u);
  EXPECT_NEAR(g[0] * 100.0 / (g[1] * 120.0), 1.0, 0.005);
  EXPECT_NEAR((g[0] + g[1]) / 2, 1.0, 0.01);
  EXPECT_GT(g[0], 1.05);
  EXPECT_LT(g[1], 0.95);
}

TEST(AerialGains, ChainOfThreeAndAnIsolatedFrame) {
  // True gains 0.8, 1.0, 1.25 of a ground brightness 100: frame i reads 100/g_true.
  const double r0 = 125, r1 = 100, r2 = 80;
  const auto g = solve_gains(4, {{0, 1, r0, r1, 1000}, {1, 2, r1, r2, 1000}});
  EXPECT_NEAR(g[0] * r0 / (g[1] * r1), 1.0, 0.01);
  EXPECT_NEAR(g[1] * r1 / (g[2] * r2), 1.0, 0.01);
  EXPECT_DOUBLE_EQ(g[3], 1.0);  // no overlap: unchanged
}

TEST(AerialIndices, ExcessGreenAndVari) {
  // R=50, G=100, B=50: chromatic r=.25 g=.5 b=.25 → ExG = 1 - .5 = 0.5; VARI = 50/100 = 0.5.
  EXPECT_FLOAT_EQ(excess_green(50, 100, 50), 0.5f);
  EXPECT_FLOAT_EQ(vari(50, 100, 50), 0.5f);
  // R=120, G=80, B=40: ExG = (160-160)/240 = 0; VARI = -40/160 = -0.25.
  EXPECT_FLOAT_EQ(excess_green(120, 80, 40), 0.0f);
  EXPECT_FLOAT_EQ(vari(120, 80, 40), -0.25f);
  EXPECT_TRUE(std::isnan(excess_green(0, 0, 0)));
  EXPECT_TRUE(std::isnan(vari(10, 10, 20)));  // G + R - B = 0
  EXPECT_TRUE(std::isnan(vari(NAN, 1, 1)));
}
