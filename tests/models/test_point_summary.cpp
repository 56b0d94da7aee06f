// Timestamps of field observations and per-cell point summaries against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "models/point_summary.hpp"

using namespace qinling::models;

namespace {
constexpr double k2024 = 1704067200;  // 2024-01-01T00:00:00Z (date -u -d 2024-01-01 +%s)
constexpr int kCst = 480;
}  // namespace

TEST(PointSummary, TimestampsWithAndWithoutZones) {
  EXPECT_EQ(parse_timestamp("2024-01-01T00:00:00Z", kCst), k2024);
  EXPECT_EQ(parse_timestamp("2024-01-01 08:00", kCst), k2024);  // Beijing time
  EXPECT_EQ(parse_timestamp("2024-01-01T08:00:00+08:00", 0), k2024);
  EXPECT_EQ(parse_timestamp("2023-12-31T19:00:00-0500", kCst), k2024);
  EXPECT_EQ(parse_timestamp("2024/01/01", 0), k2024);
  EXPECT_EQ(parse_timestamp(" 2024-01-01 ", kCst), k2024 - 8 * 3600);
  // 2024 is a leap year: 1 March is day 31 + 29 after 1 January.
  EXPECT_EQ(parse_timestamp("2024-03-01T00:00Z", kCst), k2024 + 60 * 86400.0);
  EXPECT_DOUBLE_EQ(*parse_timestamp("2024-01-01T00:00:01.5Z", kCst), k2024 + 1.5);
  for (const char* bad : {"", "abc", "2024-02-30", "2023-02-29", "2024-13-01", "2024-07-01T25:00",
                          "2024-07-01 10", "2024-07-01T10:00:00+1", "24-07-01", "2024-07-01x"})
    EXPECT_EQ(parse_timestamp(bad, kCst), std::nullopt) << bad;
}

TEST(PointSummary, FormatsInTheGivenZone) {
  EXPECT_EQ(format_timestamp(k2024, kCst), "2024-01-01 08:00:00");
  EXPECT_EQ(format_timestamp(k2024 - 1, 0), "2023-12-31 23:59:59");
  EXPECT_EQ(format_timestamp(k2024 + 59 * 86400.0 + 0.9, 0), "2024-02-29 00:00:00");
  EXPECT_EQ(format_timestamp(0, 0), "1970-01-01 00:00:00");
}

TEST(PointSummary, SumsLastTimeAndMajorityWithTies) {
  PointCellSummary s;
  EXPECT_EQ(s.majority(0), "");
  EXPECT_FALSE(s.has_time());
  s.add_time(10), s.add_time(30), s.add_time(20);
  EXPECT_EQ(s.last, 30);
  s.add_sum(1, 2.5), s.add_sum(1, 1.25);
  ASSERT_EQ(s.sums.size(), 2u);
  EXPECT_TRUE(std::isnan(s.sums[0]));  // never given a value: missing, not 0
  EXPECT_EQ(s.sums[1], 3.75);
  for (const char* v : {"王林", "李华", "李华", "王林", "赵敏"}) s.add_class(0, v);
  // 李华 and 王林 both twice: the smaller in byte order wins, whatever the row order.
  EXPECT_EQ(s.majority(0), std::string("李华") < std::string("王林") ? "李华" : "王林");
  s.add_class(0, "赵敏"), s.add_class(0, "赵敏");
  EXPECT_EQ(s.majority(0), "赵敏");
}
