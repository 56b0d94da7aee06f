// Lapse-rate adjustment, unit conversion, IDW and the elevation fit against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "models/meteo.hpp"

using namespace qinling::models;

TEST(Meteo, LapseAdjustMovesTemperatureWithHeight) {
  // 1000 m up at 6.5 K/km: 6.5 K colder; down 500 m: 3.25 K warmer.
  EXPECT_DOUBLE_EQ(lapse_adjust(15.0, 500.0, 1500.0, 6.5), 8.5);
  EXPECT_DOUBLE_EQ(lapse_adjust(15.0, 1500.0, 1000.0, 6.5), 18.25);
  EXPECT_TRUE(std::isnan(lapse_adjust(NAN, 0, 100, 6.5)));
}

TEST(Meteo, UnitConversions) {
  const auto k2c = unit_conversion("K", "degC");
  ASSERT_TRUE(k2c);
  EXPECT_DOUBLE_EQ(273.15 * k2c->scale + k2c->offset, 0.0);
  EXPECT_DOUBLE_EQ(300.0 * k2c->scale + k2c->offset, 300.0 - 273.15);
  const auto c2k = unit_conversion("[C]", "K");  // GDAL's GRIB spelling
  ASSERT_TRUE(c2k);
  EXPECT_DOUBLE_EQ(-10.0 * c2k->scale + c2k->offset, 263.15);
  const auto m2mm = unit_conversion("m", "mm");
  ASSERT_TRUE(m2mm);
  EXPECT_DOUBLE_EQ(0.0125 * m2mm->scale + m2mm->offset, 12.5);
  const auto f = unit_conversion("degF", "degC");
  ASSERT_TRUE(f);
  EXPECT_NEAR(212.0 * f->scale + f->offset, 100.0, 1e-12);
  const auto same = unit_conversion("kg/(m^2)", "mm");
  ASSERT_TRUE(same);
  EXPECT_EQ(same->scale, 1.0);
  EXPECT_FALSE(unit_conversion("K", "mm"));
  EXPECT_FALSE(unit_conversion("furlong", "m"));
}

TEST(Meteo, IdwThreeStationsByHand) {
  // A (0,0)=10, B (2,0)=20, C (0,4)=30.
  const std::vector<Station> s{{0, 0, 10}, {2, 0, 20}, {0, 4, 30}};
  // At (0,1): dA = 1, dB = √5, dC = 3 → weights 1, 1/5, 1/9.
  const double expect = (10.0 + 20.0 / 5 + 30.0 / 9) / (1.0 + 1.0 / 5 + 1.0 / 9);
  EXPECT_NEAR(idw(s, 0, 1, {}), expect, 1e-12);
  EXPECT_NEAR(idw(s, 0, 1, {}), 13.220338983050848, 1e-12);
  EXPECT_DOUBLE_EQ(idw(s, 0, 0, {}), 10.0);  // exact at a station
  EXPECT_DOUBLE_EQ(idw(s, 2, 0, {}), 20.0);
  // Nearest 2 at (0,1): A and B only.
  IdwOptions k2;
  k2.nearest = 2;
  EXPECT_NEAR(idw(s, 0, 1, k2), (10.0 + 20.0 / 5) / (1.0 + 1.0 / 5), 1e-12);
  // Within 2.5: A and B; within 0.5: none → NaN.
  IdwOptions d;
  d.max_distance = 2.5;
  EXPECT_NEAR(idw(s, 0, 1, d), (10.0 + 20.0 / 5) / (1.0 + 1.0 / 5), 1e-12);
  d.max_distance = 0.5;
  EXPECT_TRUE(std::isnan(idw(s, 0, 1, d)));
  // Power 1: weights 1, 1/√5, 1/3.
  IdwOptions p1;
  p1.power = 1;
  EXPECT_NEAR(idw(s, 0, 1, p1), (10.0 + 20.0 / std::sqrt(5.0) + 10.0) / (1.0 + 1.0 / std::sqrt(5.0) + 1.0 / 3), 1e-12);
}

TEST(Meteo, LineFitRecoversALapseRate) {
  const std::vector<double> z{400, 900, 1700, 2600};
  std::vector<double> t;
  for (double e : z) t.push_back(25.0 - 0.0065 * e);
  const LinearFit f = fit_line(z, t);
  EXPECT_NEAR(f.slope, -0.0065, 1e-12);
  EXPECT_NEAR(f.intercept, 25.0, 1e-9);
  // By hand: x = 0,1,2, y = 1,3,2 → slope 0.5, intercept 1.5.
  const LinearFit g = fit_line({0, 1, 2}, {1, 3, 2});
  EXPECT_DOUBLE_EQ(g.slope, 0.5);
  EXPECT_DOUBLE_EQ(g.intercept, 1.5);
  const LinearFit flat = fit_line({5, 5}, {1, 3});
  EXPECT_EQ(flat.slope, 0.0);
  EXPECT_EQ(flat.intercept, 2.0);
}
