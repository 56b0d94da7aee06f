// Verification scores against a hand-computed contingency table and continuous scores; merging
// partial sums equals scoring everything together.
#include <gtest/gtest.h>

#include <cmath>

#include "models/verification.hpp"

using namespace qinling::models;

namespace {
// 50 hits, 10 misses, 20 false alarms, 120 correct negatives at the 10 mm threshold.
Contingency table_by_hand(int part, int parts) {
  Contingency c{10.0};
  int i = 0;
  auto put = [&](double f, double o, int n) {
    for (int k = 0; k < n; ++k, ++i)
      if (i % parts == part) c.add(f, o);
  };
  put(12, 30, 50);   // hits
  put(9.9, 10, 10);  // misses (10 is an event: >= threshold)
  put(10, 0.5, 20);  // false alarms
  put(0, 9.99, 120); // correct negatives
  return c;
}
}  // namespace

TEST(Verification, ContingencyScoresByHand) {
  const Contingency c = table_by_hand(0, 1);
  EXPECT_EQ(c.hits, 50);
  EXPECT_EQ(c.misses, 10);
  EXPECT_EQ(c.false_alarms, 20);
  EXPECT_EQ(c.correct_negatives, 120);
  const CategoricalScores s = categorical_scores(c);
  EXPECT_NEAR(s.pod, 50.0 / 60, 1e-12);
  EXPECT_NEAR(s.far, 20.0 / 70, 1e-12);
  EXPECT_NEAR(s.csi, 50.0 / 80, 1e-12);
  // Random hits (60 × 70) / 200 = 21; ETS = (50 − 21) / (80 − 21) = 29/59.
  EXPECT_NEAR(s.ets, 29.0 / 59, 1e-12);
  EXPECT_NEAR(s.frequency_bias, 70.0 / 60, 1e-12);
  EXPECT_NEAR(s.accuracy, 170.0 / 200, 1e-12);
}

TEST(Verification, MergedPartsEqualTheWhole) {
  Contingency whole = table_by_hand(0, 1), merged = table_by_hand(0, 3);
  merged.merge(table_by_hand(1, 3));
  merged.merge(table_by_hand(2, 3));
  EXPECT_EQ(merged.hits, whole.hits);
  EXPECT_EQ(merged.misses, whole.misses);
  EXPECT_EQ(merged.false_alarms, whole.false_alarms);
  EXPECT_EQ(merged.correct_negatives, whole.correct_negatives);
  ContinuousSums a, b, all;
  const double f[] = {1, 2, 3, 4}, o[] = {1, 3, 2, 6};
  for (int i = 0; i < 4; ++i) (i < 2 ? a : b).add(f[i], o[i]), all.add(f[i], o[i]);
  a.merge(b);
  EXPECT_EQ(continuous_scores(a).rmse, continuous_scores(all).rmse);
}

TEST(Verification, ContinuousScoresByHand) {
  ContinuousSums s;
  const double f[] = {1, 2, 3, 4}, o[] = {1, 3, 2, 6};
  for (int i = 0; i < 4; ++i) s.add(f[i], o[i]);
  s.add(NAN, 3);  // ignored
  const ContinuousScores c = continuous_scores(s);
  EXPECT_EQ(c.n, 4);
  EXPECT_DOUBLE_EQ(c.bias, -0.5);  // errors 0, −1, 1, −2
  EXPECT_DOUBLE_EQ(c.mae, 1.0);
  EXPECT_NEAR(c.rmse, std::sqrt(1.5), 1e-12);
  // cov = 1.75, var f = 1.25, var o = 3.5.
  EXPECT_NEAR(c.correlation, 1.75 / std::sqrt(1.25 * 3.5), 1e-12);
  EXPECT_DOUBLE_EQ(c.accuracy1, 0.75);  // |e| <= 1 in 3 of 4
  EXPECT_DOUBLE_EQ(c.accuracy2, 1.0);
  const ContinuousScores empty = continuous_scores(ContinuousSums{});
  EXPECT_TRUE(std::isnan(empty.rmse));
}

TEST(Verification, NoEventsGiveUndefinedNotZero) {
  Contingency c{100.0};
  c.add(1, 2);
  const CategoricalScores s = categorical_scores(c);
  EXPECT_TRUE(std::isnan(s.pod));
  EXPECT_TRUE(std::isnan(s.far));
  EXPECT_DOUBLE_EQ(s.accuracy, 1.0);
}
