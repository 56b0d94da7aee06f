// NDVI against a hand-computed table, and the nodata rules.
#include <gtest/gtest.h>

#include <cmath>

#include "models/indices.hpp"

using qinling::models::ndvi;

TEST(Ndvi, MatchesHandComputedValues) {
  // (nir - red) / (nir + red) worked by hand.
  EXPECT_FLOAT_EQ(ndvi(100.f, 300.f), 0.5f);     // 200 / 400
  EXPECT_FLOAT_EQ(ndvi(300.f, 100.f), -0.5f);    // -200 / 400
  EXPECT_FLOAT_EQ(ndvi(0.f, 50.f), 1.0f);        // 50 / 50
  EXPECT_FLOAT_EQ(ndvi(800.f, 3200.f), 0.6f);    // 2400 / 4000
  EXPECT_FLOAT_EQ(ndvi(7000.f, 7000.f), 0.0f);
}

TEST(Ndvi, ZeroDenominatorIsNodataNotZero) {
  EXPECT_TRUE(std::isnan(ndvi(0.f, 0.f)));
  EXPECT_TRUE(std::isnan(ndvi(5.f, -5.f)));
}

TEST(Ndvi, NanInputPropagates) {
  EXPECT_TRUE(std::isnan(ndvi(NAN, 10.f)));
  EXPECT_TRUE(std::isnan(ndvi(10.f, NAN)));
}

TEST(Ndvi, ArrayFormEqualsScalarForm) {
  const float red[] = {100, 0, 300, 12, NAN};
  const float nir[] = {300, 0, 100, 4000, 1};
  float out[5];
  qinling::models::ndvi(red, nir, out, 5);
  for (int i = 0; i < 5; ++i) {
    const float s = ndvi(red[i], nir[i]);
    if (std::isnan(s)) EXPECT_TRUE(std::isnan(out[i]));
    else EXPECT_EQ(out[i], s);
  }
}

TEST(Ndvi, AgreesWithDoublePrecisionToTheLastFloatBit) {
  // numpy computes (B.astype(float)-A)/(B.astype(float)+A) in float64 then stores float32.
  for (int red = 1; red < 20000; red += 997)
    for (int nir = 0; nir < 30000; nir += 1231) {
      const double ref = (double(nir) - red) / (double(nir) + red);
      EXPECT_EQ(ndvi(float(red), float(nir)), float(ref));
    }
}
