// Regridding kernels on hand-made lattices: values at centres, hand-computed bilinear and cubic
// weights, longitude wrap, and cell areas against the closed form on the sphere.
#include <gtest/gtest.h>

#include <cmath>

#include "models/meteo.hpp"
#include "models/regrid.hpp"

using namespace qinling::models;

namespace {

// 4 × 3 lattice, value = 10 × row + column.
SourceLattice lattice(bool wrap) {
  SourceLattice s;
  s.width = s.full_width = 4;
  s.height = s.full_height = 3;
  s.wrap_x = wrap;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) s.values.push_back(float(10 * r + c));
  return s;
}

}  // namespace

TEST(Regrid, CentresReproduceTheSource) {
  const SourceLattice s = lattice(false);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) {
      EXPECT_DOUBLE_EQ(sample_nearest(s, c + 0.5, r + 0.5), 10 * r + c);
      EXPECT_DOUBLE_EQ(sample_bilinear(s, c + 0.5, r + 0.5), 10 * r + c);
      EXPECT_NEAR(sample_cubic(s, c + 0.5, r + 0.5), 10 * r + c, 1e-12);
    }
}

TEST(Regrid, HandComputedWeights) {
  const SourceLattice s = lattice(false);
  // Between centres (0.5,0.5)…(1.5,1.5): a quarter of the way right and half-way down.
  // 0.375 × 0 + 0.125 × 1 + 0.375 × 10 + 0.125 × 11
  EXPECT_DOUBLE_EQ(sample_bilinear(s, 0.75, 1.0), 5.25);
  // Cubic of a function linear in x and y is exact where all 16 neighbours exist (Keys kernel).
  SourceLattice big;
  big.width = big.full_width = 6;
  big.height = big.full_height = 6;
  for (int r = 0; r < 6; ++r)
    for (int c = 0; c < 6; ++c) big.values.push_back(float(2 * c - 3 * r));
  EXPECT_NEAR(sample_cubic(big, 2.8, 3.1), 2 * 2.3 - 3 * 2.6, 1e-9);
  // A missing neighbour is left out and the others renormalised.
  SourceLattice hole = lattice(false);
  hole.values[1] = NAN;  // (c=1, r=0)
  EXPECT_DOUBLE_EQ(sample_bilinear(hole, 1.0, 1.0), (0.25 * 0 + 0.25 * 10 + 0.25 * 11) / 0.75);
  EXPECT_TRUE(std::isnan(sample_nearest(hole, 1.2, 0.2)));
}

TEST(Regrid, LongitudeWrap) {
  const SourceLattice w = lattice(true), n = lattice(false);
  // Half-way between the last column (3) and the first (0) across the seam.
  EXPECT_DOUBLE_EQ(sample_bilinear(w, 4.0, 0.5), 1.5);
  EXPECT_DOUBLE_EQ(sample_nearest(w, -0.5, 1.5), 13);
  EXPECT_DOUBLE_EQ(sample_bilinear(n, 4.0, 0.5), 3);  // not global: the edge value
  EXPECT_TRUE(std::isnan(sample_nearest(n, -0.5, 1.5)));
}

TEST(Regrid, CellAreaOnTheSphere) {
  constexpr double d = 3.14159265358979323846 / 180;
  const double lon[4] = {179.5, 180.5, 180.5, 179.5}, lat[4] = {30, 30, 31, 31};
  const double exact = kAuthalicRadius * kAuthalicRadius * 1 * d * (std::sin(31 * d) - std::sin(30 * d));
  EXPECT_NEAR(lonlat_quad_area(lon, lat) / exact, 1, 1e-12);
  const double wrapped[4] = {179.5, -179.5, -179.5, 179.5};  // the same cell across the antimeridian
  EXPECT_NEAR(lonlat_quad_area(wrapped, lat) / exact, 1, 1e-12);
}

TEST(Regrid, PrecipitationRateUnits) {
  const auto r = unit_conversion("kg m-2 s-1", "mm/h");
  ASSERT_TRUE(r);
  EXPECT_DOUBLE_EQ(r->scale, 3600);
  EXPECT_DOUBLE_EQ(unit_conversion("[kg/(m^2 s)]", "mm/d")->scale, 86400);
  EXPECT_DOUBLE_EQ(unit_conversion("mm/hr", "mm/d")->scale, 24);
  EXPECT_FALSE(unit_conversion("mm/h", "mm"));
}
