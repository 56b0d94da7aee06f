// Statistics accumulators and alert rules against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "models/alert_rules.hpp"
#include "models/errors.hpp"
#include "models/zonal_stats.hpp"

using namespace qinling::models;

namespace {

StatsAccumulator filled(const AccumulatorConfig& c, const std::vector<std::pair<double, double>>& vw) {
  StatsAccumulator a(&c);
  for (const auto& [v, w] : vw) a.add(v, w);
  return a;
}

}  // namespace

TEST(StatsAccumulator, WeightedMomentsByHand) {
  const auto reqs = std::vector<StatRequest>{parse_stat("mean"), parse_stat("frac_below(2.5)"),
                                             parse_stat("frac_above(2)")};
  const auto cfg = AccumulatorConfig::from(reqs, 256, 0, 10);
  // values 1,2,3,4 with weights 1, 0.5, 0.5, 1 and a nodata pixel of weight 0.5
  auto a = filled(cfg, {{1, 1}, {2, 0.5}, {3, 0.5}, {4, 1}, {NAN, 0.5}});
  EXPECT_DOUBLE_EQ(a.count(), 3.0);
  EXPECT_DOUBLE_EQ(a.total_weight(), 3.5);
  EXPECT_DOUBLE_EQ(a.valid_fraction(), 3.0 / 3.5);
  EXPECT_DOUBLE_EQ(a.sum(), 1 + 1 + 1.5 + 4);  // 7.5
  EXPECT_DOUBLE_EQ(a.mean(), 2.5);
  EXPECT_DOUBLE_EQ(a.min(), 1);
  EXPECT_DOUBLE_EQ(a.max(), 4);
  // weighted variance: (1*2.25 + .5*.25 + .5*.25 + 1*2.25) / 3 = 4.75/3
  EXPECT_NEAR(a.stddev(), std::sqrt(4.75 / 3), 1e-12);
  EXPECT_DOUBLE_EQ(a.fraction_below(0), 1.5 / 3);  // values 1 and 2
  EXPECT_DOUBLE_EQ(a.fraction_above(0), 1.5 / 3);  // values 3 and 4
}

TEST(StatsAccumulator, MergeInAnyGroupingEqualsOnePass) {
  const auto cfg = AccumulatorConfig::from({parse_stat("mean"), parse_stat("median")}, 256, 0, 100);
  std::vector<std::pair<double, double>> vw;
  for (int i = 0; i < 40; ++i) vw.push_back({std::fmod(i * 37.0, 23.0), 0.25 + (i % 4) * 0.25});
  auto whole = filled(cfg, vw);
  StatsAccumulator parts(&cfg);
  for (int k = 0; k < 4; ++k) {
    StatsAccumulator p(&cfg);
    for (int i = k * 10; i < k * 10 + 10; ++i) p.add(vw[i].first, vw[i].second);
    parts.merge(p);
  }
  EXPECT_NEAR(parts.mean(), whole.mean(), 1e-12);
  EXPECT_NEAR(parts.stddev(), whole.stddev(), 1e-12);
  EXPECT_DOUBLE_EQ(parts.sum(), whole.sum());
  EXPECT_DOUBLE_EQ(parts.quantile(0.5), whole.quantile(0.5));
  EXPECT_TRUE(parts.exact_quantiles());
}

TEST(StatsAccumulator, ExactQuantilesMatchHazenDefinition) {
  const auto cfg = AccumulatorConfig::from({parse_stat("median")}, 256, 0, 10);
  // Equal weights: numpy.percentile([1,2,3,4], q, method="hazen"): median 2.5, p10 → 1 (clamped), p75 3.5
  auto a = filled(cfg, {{4, 1}, {1, 1}, {3, 1}, {2, 1}});
  EXPECT_DOUBLE_EQ(a.quantile(0.5), 2.5);
  EXPECT_DOUBLE_EQ(a.quantile(0.1), 1.0);
  EXPECT_DOUBLE_EQ(a.quantile(0.75), 3.5);
  EXPECT_DOUBLE_EQ(a.quantile(1.0), 4.0);
  // Unequal weights: positions (cum - w/2)/W with W = 4: value 1 (w 3) at 0.375, value 5 (w 1) at 0.875.
  auto b = filled(cfg, {{1, 3}, {5, 1}});
  EXPECT_DOUBLE_EQ(b.quantile(0.375), 1.0);
  EXPECT_DOUBLE_EQ(b.quantile(0.625), 3.0);  // halfway between the positions
  EXPECT_DOUBLE_EQ(b.quantile(0.9), 5.0);
}

TEST(StatsAccumulator, HistogramQuantilesWithinABinWidth) {
  // 8 bins over [0, 8): beyond 4 values the accumulator folds into the histogram.
  const auto cfg = AccumulatorConfig::from({parse_stat("p25")}, 8, 0, 8);
  StatsAccumulator a(&cfg);
  for (int i = 0; i < 800; ++i) a.add((i + 0.5) / 100.0, 1.0);  // uniform on [0, 8)
  EXPECT_FALSE(a.exact_quantiles());
  EXPECT_NEAR(a.quantile(0.25), 2.0, 1e-9);  // uniform within bins: linear interpolation is exact
  EXPECT_NEAR(a.quantile(0.5), 4.0, 1e-9);
  EXPECT_DOUBLE_EQ(a.quantile(0.0), a.min());
}

TEST(StatsAccumulator, ClassesMajorityAndHistogram) {
  const auto reqs = std::vector<StatRequest>{parse_stat("majority"), parse_stat("minority"),
                                             parse_stat("variety"), parse_stat("histogram")};
  const auto cfg = AccumulatorConfig::from(reqs, 256, 0, 10);
  auto a = filled(cfg, {{3, 1}, {1, 0.5}, {3, 0.5}, {7, 1}, {1, 0.25}});
  EXPECT_EQ(a.finish(reqs[0], 0), 3);  // 1.5
  EXPECT_EQ(a.finish(reqs[1], 0), 1);  // 0.75 < 1 (class 7)
  EXPECT_EQ(a.finish(reqs[2], 0), 3);
  EXPECT_EQ(a.finish_text(reqs[3]), "1:0.2308;3:0.4615;7:0.3077");  // 0.75, 1.5, 1 of 3.25
}

TEST(StatsAccumulator, EmptyCellGivesNaNNotZero) {
  AccumulatorConfig cfg;
  StatsAccumulator a(&cfg);
  a.add(NAN, 1);
  EXPECT_TRUE(std::isnan(a.mean()));
  EXPECT_TRUE(std::isnan(a.min()));
  EXPECT_EQ(a.valid_fraction(), 0);
  EXPECT_EQ(a.count(), 0);
}

TEST(StatParsing, NamesColumnsAndErrors) {
  EXPECT_EQ(parse_stat("p10").kind, StatKind::percentile);
  EXPECT_EQ(parse_stat("p10").arg, 10);
  EXPECT_EQ(parse_stat("frac_below(-0.25)").column, "frac_below_m0_25");
  EXPECT_EQ(parse_stat("loss=frac_below(-0.3)").column, "loss");
  EXPECT_THROW(parse_stat("meen"), qinling::ConfigError);
  EXPECT_THROW(parse_stat("p101"), qinling::ConfigError);
  EXPECT_THROW(parse_stat("frac_above"), qinling::ConfigError);
  EXPECT_THROW(parse_stat("mean(3)"), qinling::ConfigError);
  EXPECT_THROW(parse_stat("1x=mean"), qinling::ConfigError);
}

TEST(AlertConditions, ParseAndEvaluate) {
  auto c = Condition::parse("a < -0.2 and (b >= 0.5 or not c == 1)");
  const std::vector<std::string> names = {"a", "b", "c"};
  EXPECT_TRUE(c.bind([&](const std::string& n) {
                 return int(std::find(names.begin(), names.end(), n) - names.begin());
               }).empty());
  EXPECT_TRUE(c.holds(std::vector<double>{-0.3, 0.6, 1}));
  EXPECT_FALSE(c.holds(std::vector<double>{-0.1, 0.6, 1}));
  EXPECT_FALSE(c.holds(std::vector<double>{-0.3, 0.1, 1}));
  EXPECT_TRUE(c.holds(std::vector<double>{-0.3, 0.1, 2}));
  EXPECT_FALSE(c.holds(std::vector<double>{NAN, 0.6, 1}));  // missing data never raises an alert
  EXPECT_THROW(Condition::parse("a <"), qinling::ConfigError);
  EXPECT_THROW(Condition::parse("a = 3"), qinling::ConfigError);
  EXPECT_THROW(Condition::parse("(a < 3"), qinling::ConfigError);
  try {
    Condition::parse("a < 1 and");
    FAIL();
  } catch (const qinling::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("at character 10"), std::string::npos) << e.what();
  }
}

TEST(AlertRules, HighestLevelQualityAndReasons) {
  AlertRules rules;
  rules.levels = {"blue", "yellow", "orange", "red"};
  rules.labels = {"蓝", "黄", "橙", "红"};
  rules.quality = std::make_unique<Condition>(Condition::parse("valid_fraction >= 0.6"));
  rules.rules.push_back({1, Condition::parse("loss > 0.05"), "", 0});
  rules.rules.push_back({3, Condition::parse("loss >= 0.25 and mean < -0.1"), "severe loss", 0});
  rules.rules.push_back({2, Condition::parse("loss >= 0.1"), "", 0});
  const std::vector<std::string> names = {"valid_fraction", "loss", "mean"};
  auto find = [&](const std::string& n) {
    auto it = std::find(names.begin(), names.end(), n);
    return it == names.end() ? -1 : int(it - names.begin());
  };
  EXPECT_TRUE(rules.bind(find).empty());
  auto r = rules.evaluate(std::vector<double>{0.9, 0.4, -0.3});
  EXPECT_EQ(r.level, 3);
  EXPECT_EQ(rules.label(r.level), "红");
  EXPECT_EQ(r.reason, "severe loss (loss = 0.4 >= 0.25; mean = -0.3 < -0.1)");
  r = rules.evaluate(std::vector<double>{0.9, 0.15, 0.0});
  EXPECT_EQ(r.level, 2);
  EXPECT_EQ(r.reason, "loss = 0.15 >= 0.1");
  r = rules.evaluate(std::vector<double>{0.9, 0.0, 0.0});
  EXPECT_EQ(r.level, kNoAlert);
  r = rules.evaluate(std::vector<double>{0.5, 0.9, -0.9});
  EXPECT_EQ(r.level, kInsufficientData);
  EXPECT_NE(r.reason.find("valid_fraction = 0.5"), std::string::npos) << r.reason;
  rules.rules.push_back({0, Condition::parse("nonexistent > 1"), "", 0});
  EXPECT_EQ(rules.bind(find), std::vector<std::string>{"nonexistent"});
}
