// Cron parsing and next-fire times against hand-computed cases (calendar facts: 2026-11-30 is a
// Monday, 2027-01-03 the first Sunday of 2027, 2028 a leap year; Asia/Shanghai is UTC+8 without
// daylight saving; New York moves from UTC-5 to UTC-4 on 2026-03-08).
#include <gtest/gtest.h>

#include <ctime>

#include "models/cron.hpp"
#include "models/errors.hpp"

namespace {
using qinling::models::next_fire;
using qinling::models::parse_cron;

// Unix seconds of a wall-clock time at a fixed UTC offset, computed without the zone database.
std::int64_t at(int y, int mo, int d, int h, int mi, int offset_hours, int s = 0) {
  std::tm tm{};
  tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d, tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = s;
  return static_cast<std::int64_t>(::timegm(&tm)) - offset_hours * 3600;
}

struct Case {
  const char* tz;
  const char* cron;
  std::int64_t after, expected;
};

TEST(Cron, NextFireTable) {
  const Case cases[] = {
      // Every Monday 03:00: on Monday 04:07 the next one is a week later; at 02:59 it is today.
      {"Asia/Shanghai", "0 3 * * 1", at(2026, 11, 30, 4, 7, 8), at(2026, 12, 7, 3, 0, 8)},
      {"Asia/Shanghai", "0 3 * * 1", at(2026, 11, 30, 2, 59, 8), at(2026, 11, 30, 3, 0, 8)},
      {"Asia/Shanghai", "*/15 * * * *", at(2026, 11, 30, 4, 7, 8, 30), at(2026, 11, 30, 4, 15, 8)},
      {"Asia/Shanghai", "0 0 1 1 *", at(2026, 6, 15, 12, 0, 8), at(2027, 1, 1, 0, 0, 8)},
      {"Asia/Shanghai", "0 12 29 2 *", at(2026, 3, 1, 0, 0, 8), at(2028, 2, 29, 12, 0, 8)},
      // Day-of-month and day-of-week both restricted: either matches (Tuesday 1 December).
      {"Asia/Shanghai", "30 8 1-7 * 1", at(2026, 11, 30, 9, 0, 8), at(2026, 12, 1, 8, 30, 8)},
      {"Asia/Shanghai", "0 9-17/4 * * mon-fri", at(2026, 12, 4, 13, 0, 8), at(2026, 12, 4, 17, 0, 8)},
      {"Asia/Shanghai", "0 9-17/4 * * mon-fri", at(2026, 12, 4, 17, 0, 8), at(2026, 12, 7, 9, 0, 8)},
      {"Asia/Shanghai", "0 0 * jan,jul sun", at(2026, 11, 30, 0, 0, 8), at(2027, 1, 3, 0, 0, 8)},
      {"Asia/Shanghai", "5 4 * * 7", at(2026, 11, 30, 4, 7, 8), at(2026, 12, 6, 4, 5, 8)},
      {"Asia/Shanghai", "0 3 31 * *", at(2026, 11, 30, 0, 0, 8), at(2026, 12, 31, 3, 0, 8)},
      {"Asia/Shanghai", "0,30 3 * * *", at(2026, 11, 30, 3, 0, 8), at(2026, 11, 30, 3, 30, 8)},
      // Strictly after: a time exactly on a fire time gives the next one.
      {"UTC", "0 0 * * 0", at(2026, 11, 29, 0, 0, 0), at(2026, 12, 6, 0, 0, 0)},
      // Noon in New York: UTC-5 before the switch to daylight saving, UTC-4 on and after 8 March.
      {"America/New_York", "0 12 * * *", at(2026, 1, 10, 13, 0, -5), at(2026, 1, 11, 12, 0, -5)},
      {"America/New_York", "0 12 * * *", at(2026, 3, 7, 13, 0, -5), at(2026, 3, 8, 12, 0, -4)},
      // Berlin: UTC+1 in winter, UTC+2 from 2027-03-28 (02:00 → 03:00) to 2027-10-31 (03:00 → 02:00).
      {"Europe/Berlin", "0 3 * * 1", at(2027, 1, 5, 0, 0, 1), at(2027, 1, 11, 3, 0, 1)},
      {"Europe/Berlin", "0 3 * * 1", at(2027, 3, 23, 0, 0, 1), at(2027, 3, 29, 3, 0, 2)},
      {"Europe/Berlin", "0 3 * * 1", at(2027, 10, 26, 0, 0, 2), at(2027, 11, 1, 3, 0, 1)},
      // 02:30 does not exist on 28 March: the run happens once, an hour later by the clock (03:30 CEST).
      {"Europe/Berlin", "30 2 * * *", at(2027, 3, 28, 0, 0, 1), at(2027, 3, 28, 3, 30, 2)},
      {"Europe/Berlin", "30 2 * * *", at(2027, 3, 28, 3, 30, 2), at(2027, 3, 29, 2, 30, 2)},
      // The same expression in two zones fires 13 hours apart in winter.
      {"Asia/Shanghai", "0 12 * * *", at(2026, 1, 10, 13, 0, 8), at(2026, 1, 11, 12, 0, 8)},
  };
  for (const auto& c : cases)
    EXPECT_EQ(next_fire(parse_cron(c.cron), c.after, c.tz), c.expected)
        << c.cron << " in " << c.tz << " after " << c.after;
}

// 31 October 2027 in Berlin: 02:00–03:00 happens twice. A daily 02:30 fires once that night, not
// twice, and the next day at 02:30 CET.
TEST(Cron, RepeatedHourAtTheEndOfDaylightSavingFiresOnce) {
  const auto cron = parse_cron("30 2 * * *");
  const std::int64_t first = next_fire(cron, at(2027, 10, 30, 23, 0, 2), "Europe/Berlin");
  EXPECT_TRUE(first == at(2027, 10, 31, 2, 30, 2) || first == at(2027, 10, 31, 2, 30, 1)) << first;
  EXPECT_EQ(next_fire(cron, first, "Europe/Berlin"), at(2027, 11, 1, 2, 30, 1));
}

TEST(Cron, DefaultZoneIsShanghai) {
  EXPECT_EQ(next_fire(parse_cron("0 3 * * 1"), at(2026, 11, 30, 4, 7, 8)), at(2026, 12, 7, 3, 0, 8));
}

TEST(Cron, BadExpressionsNameTheField) {
  const std::pair<const char*, const char*> bad[] = {
      {"60 * * * *", "minute"},  {"* 24 * * *", "hour"},       {"* * 0 * *", "day-of-month"},
      {"* * * 13 *", "month"},   {"* * * * 8", "day-of-week"}, {"*/0 * * * *", "minute"},
      {"5-1 * * * *", "minute"}, {"* * * * * *", "5 fields"},  {"* * *", "5 fields"},
      {"* x * * *", "hour"},     {"1,,2 * * * *", "minute"},   {"* * * foo *", "month"},
  };
  for (const auto& [text, field] : bad) {
    try {
      parse_cron(text);
      ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const qinling::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << text << " → " << e.what();
    }
  }
}

TEST(Cron, NeverFiringAndBadZoneAreErrors) {
  EXPECT_THROW(next_fire(parse_cron("0 0 30 2 *"), at(2026, 1, 1, 0, 0, 8)), qinling::ConfigError);
  EXPECT_THROW(next_fire(parse_cron("0 0 * * *"), 0, "Mars/Olympus"), qinling::ConfigError);
}

TEST(Cron, ParseTimeIsWallClockInTheZone) {
  using qinling::models::parse_time;
  EXPECT_EQ(parse_time("2026-11-30T03:00", "Asia/Shanghai", 0), at(2026, 11, 30, 3, 0, 8));
  EXPECT_EQ(parse_time("2026-11-30 03:00:15", "UTC", 0), at(2026, 11, 30, 3, 0, 0, 15));
  EXPECT_EQ(parse_time("now", "UTC", 42), 42);
  EXPECT_THROW(parse_time("2026-02-30", "UTC", 0), qinling::ConfigError);
}

}  // namespace
