// User expressions: values, nodata rules and error messages.
#include <gtest/gtest.h>

#include <cmath>

#include "models/errors.hpp"
#include "raster/expression.hpp"

using qinling::raster::Expression;

TEST(Expression, EvaluatesOverArrays) {
  Expression e("(nir - red) / (nir + red)", {"blue", "red", "nir"});
  ASSERT_EQ(e.used(), (std::vector<std::string>{"red", "nir"}));
  const float red[] = {100, 0, 50};
  const float nir[] = {300, 0, NAN};
  float out[3];
  e.evaluate({red, nir}, out, 3);
  EXPECT_FLOAT_EQ(out[0], 0.5f);
  EXPECT_TRUE(std::isnan(out[1]));  // 0/0 → nodata
  EXPECT_TRUE(std::isnan(out[2]));  // nodata operand → nodata
}

TEST(Expression, DivisionByZeroIsNodata) {
  Expression e("a / b", {"a", "b"});
  const float a[] = {1, 4};
  const float b[] = {0, 2};
  float out[2];
  e.evaluate({a, b}, out, 2);
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_FLOAT_EQ(out[1], 2.0f);
}

TEST(Expression, FunctionsAndConditionals) {
  Expression e("x > 2 ? sqrt(x) : -1", {"x"});
  const float x[] = {9, 1};
  float out[2];
  e.evaluate({x}, out, 2);
  EXPECT_FLOAT_EQ(out[0], 3.0f);
  EXPECT_FLOAT_EQ(out[1], -1.0f);
}

TEST(Expression, UnknownNameIsAConfigErrorListingKnownNames) {
  try {
    Expression e("nir - rde", {"red", "nir"});
    FAIL() << "expected an error";
  } catch (const qinling::ConfigError& err) {
    const std::string msg = err.what();
    EXPECT_NE(msg.find("rde"), std::string::npos) << msg;
    EXPECT_NE(msg.find("known names: red, nir"), std::string::npos) << msg;
  }
}

TEST(Expression, SyntaxErrorIsAConfigError) { EXPECT_THROW(Expression("(nir - red", {"red", "nir"}), qinling::ConfigError); }
