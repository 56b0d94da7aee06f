// Verification scores against a hand-computed contingency table and continuous scores; merging
// partial sums equals scoring everything together.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

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

TEST(Verification, ScoreSumsOfLeadTimesMergeToTheWhole) {
  // Two "lead times" scored apart and merged equal all pairs scored together; NaN pairs count nowhere.
  const double f[] = {0, 12, 30, 5, 0.2, 60}, o[] = {0.5, 9, 28, 11, 0, NAN};
  ScoreSums a({0.1, 10, 25}), b({0.1, 10, 25}), all({0.1, 10, 25});
  for (int i = 0; i < 6; ++i) {
    (i < 3 ? a : b).add(f[i], o[i]);
    all.add(f[i], o[i]);
  }
  a.merge(b);
  EXPECT_EQ(a.cont.n, 5);
  EXPECT_DOUBLE_EQ(a.cont.sum_e2, all.cont.sum_e2);
  EXPECT_DOUBLE_EQ(a.cont.sum_fo, all.cont.sum_fo);
  ASSERT_EQ(a.cat.size(), 3u);
  // At 10: forecast events 12, 30 (obs 9, 28): 1 hit, 1 false alarm; obs 11 with forecast 5: a miss.
  EXPECT_EQ(a.cat[1].hits, 1);
  EXPECT_EQ(a.cat[1].false_alarms, 1);
  EXPECT_EQ(a.cat[1].misses, 1);
  EXPECT_EQ(a.cat[1].correct_negatives, 2);
  for (int t = 0; t < 3; ++t) EXPECT_EQ(a.cat[t].total(), all.cat[t].total());
}

// 3 × 3 fields, threshold 0.5: the forecast event in the corner, the observed one in the centre.
// n = 1: no overlap, FSS = 0. n = 3 (windows clipped to the grid: 4 cells at corners, 6 at edges,
// 9 in the centre): Po = 1 / cells everywhere; Pf = 1 / cells in the top-left 2 × 2 block, else 0.
TEST(Verification, FractionsSkillScoreByHand) {
  const float nan = std::nanf("");
  const float f[9] = {1, 0, 0, 0, 0, 0, 0, 0, 0}, o[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
  const auto s = fss_sums(f, o, 3, 3, {0.5}, {1, 3});
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].n, 9);
  EXPECT_DOUBLE_EQ(s[0].sum_d2, 2);
  EXPECT_DOUBLE_EQ(fss(s[0]), 0);
  const double d2 = 3.0 / 16 + 2.0 / 36, f2 = 1.0 / 16 + 2.0 / 36 + 1.0 / 81, o2 = 4.0 / 16 + 4.0 / 36 + 1.0 / 81;
  EXPECT_EQ(s[1].window, 3);
  EXPECT_NEAR(s[1].sum_d2, d2, 1e-15);
  EXPECT_NEAR(s[1].sum_f2, f2, 1e-15);
  EXPECT_NEAR(s[1].sum_o2, o2, 1e-15);
  EXPECT_NEAR(fss(s[1]), 1 - d2 / (f2 + o2), 1e-15);
  // Pooling two runs' sums equals the sums of both: the same fields twice give the same FSS.
  FssSums twice = s[1];
  twice.merge(s[1]);
  EXPECT_EQ(twice.n, 18);
  EXPECT_NEAR(fss(twice), fss(s[1]), 1e-15);
  // A missing cell is neither a centre nor counted in its neighbours' windows: with the centre missing
  // the observation has no event, Po = 0, Pf as before but over one cell fewer where windows held it.
  float o_missing[9] = {0, 0, 0, 0, nan, 0, 0, 0, 0};
  const auto m = fss_sums(f, o_missing, 3, 3, {0.5}, {3});
  EXPECT_EQ(m[0].n, 8);
  const double pf2 = 1.0 / 9 + 2.0 / 25;  // (0,0): 1/3 of 3 valid cells; (0,1), (1,0): 1/5 of 5
  EXPECT_NEAR(m[0].sum_f2, pf2, 1e-15);
  EXPECT_NEAR(m[0].sum_o2, 0, 1e-15);
  EXPECT_NEAR(fss(m[0]), 0, 1e-15);
  // No event in either field: undefined.
  const float zeros[9] = {};
  EXPECT_TRUE(std::isnan(fss(fss_sums(zeros, zeros, 3, 3, {0.5}, {3})[0])));
}

// The same 3 × 3 case split by the label of the centre cell: label 0 the left column, −1 (nowhere) the
// bottom-right corner, 1 the rest. Left column with n = 3: (0,0) Pf = Po = 1/4; (1,0) Pf = Po = 1/6;
// (2,0) Pf = 0, Po = 1/4. The windows reach across labels, so labels 0 and 1 add up to the whole
// minus the unlabelled corner (Pf = 0, Po = 1/4).
TEST(Verification, FractionsSkillScoreSumsByLabelAddUp) {
  const float f[9] = {1, 0, 0, 0, 0, 0, 0, 0, 0}, o[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
  const std::int32_t labels[9] = {0, 1, 1, 0, 1, 1, 0, 1, -1};
  const FssTables t = fss_tables(f, o, 3, 3, 0.5);
  const FssSums whole = fss_window_sums(t, 3, 0, 3);
  // Two row blocks, as the step runs them, merged per label.
  FssSums whole_top, whole_rest;
  auto top = fss_window_sums_by_label(t, 3, 0, 1, labels, &whole_top),
       rest = fss_window_sums_by_label(t, 3, 1, 3, labels, &whole_rest);
  // The whole from the same pass, bit for bit as fss_window_sums.
  whole_top.merge(whole_rest);
  FssSums split = fss_window_sums(t, 3, 0, 1);
  split.merge(fss_window_sums(t, 3, 1, 3));
  EXPECT_EQ(whole_top.n, split.n);
  EXPECT_EQ(whole_top.sum_d2, split.sum_d2);
  EXPECT_EQ(whole_top.sum_f2, split.sum_f2);
  EXPECT_EQ(whole_top.sum_o2, split.sum_o2);
  ASSERT_EQ(top.size(), 2u);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(top[0].first, 0);
  EXPECT_EQ(top[1].first, 1);
  FssSums l0 = top[0].second, l1 = top[1].second;
  l0.merge(rest[0].second);
  l1.merge(rest[1].second);
  EXPECT_EQ(l0.n, 3);
  EXPECT_EQ(l0.window, 3);
  EXPECT_NEAR(l0.sum_d2, 1.0 / 16, 1e-15);
  EXPECT_NEAR(l0.sum_f2, 1.0 / 16 + 1.0 / 36, 1e-15);
  EXPECT_NEAR(l0.sum_o2, 2.0 / 16 + 1.0 / 36, 1e-15);
  EXPECT_EQ(l0.n + l1.n + 1, whole.n);
  EXPECT_NEAR(l0.sum_d2 + l1.sum_d2 + 1.0 / 16, whole.sum_d2, 1e-15);
  EXPECT_NEAR(l0.sum_f2 + l1.sum_f2, whole.sum_f2, 1e-15);
  EXPECT_NEAR(l0.sum_o2 + l1.sum_o2 + 1.0 / 16, whole.sum_o2, 1e-15);
}
