// The time spellings `select:` accepts, checked against hand-computed Unix times.
#include <gtest/gtest.h>

#include "pipeline/weather_select.hpp"

using qinling::pipeline::format_iso_time;
using qinling::pipeline::parse_iso_time;

TEST(WeatherSelect, ParsesIsoTimes) {
  long long t = 0;
  // 2026-07-01T12:00Z = 20635 days × 86400 + 12 h (date -u -d 2026-07-01T12:00Z +%s).
  ASSERT_TRUE(parse_iso_time("2026-07-01T12:00Z", t));
  EXPECT_EQ(t, 1782907200);
  ASSERT_TRUE(parse_iso_time("2026-07-01 12:00:00", t));
  EXPECT_EQ(t, 1782907200);
  ASSERT_TRUE(parse_iso_time("2026-07-01T12", t));
  EXPECT_EQ(t, 1782907200);
  ASSERT_TRUE(parse_iso_time("2026-07-01", t));
  EXPECT_EQ(t, 1782864000);
  ASSERT_TRUE(parse_iso_time("1900-01-01 00:00:00", t));  // CF epochs before 1970
  EXPECT_EQ(t, -2208988800LL);
  EXPECT_FALSE(parse_iso_time("yesterday", t));
  EXPECT_FALSE(parse_iso_time("2026-13-01", t));
  EXPECT_FALSE(parse_iso_time("2026-07-01X12:00", t));
  EXPECT_EQ(format_iso_time(1782907200), "2026-07-01T12:00Z");
}
