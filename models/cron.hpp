// Five-field cron expressions (minute hour day-of-month month day-of-week) and their next fire
// time in a named time zone, for schedules in the job store.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>

namespace qinling::models {

// A parsed expression: one bit per allowed value of each field.
struct CronExpr {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days;                       // 1..31
  std::bitset<13> months;                     // 1..12
  std::bitset<8> weekdays;                    // 0..6, Sunday = 0 (7 is accepted as Sunday too)
  bool days_any = true, weekdays_any = true;  // '*' in the field: the usual "either" rule needs it
  std::string text;
};

// Parses `text`; throws ConfigError naming the bad field and what it accepts.
CronExpr parse_cron(const std::string& text);

// Throws ConfigError unless `tz` is a known IANA zone (e.g. Asia/Shanghai).
void check_time_zone(const std::string& tz);

// The first fire time strictly after `after` (Unix seconds, UTC), with the fields read as wall
// clock time in `tz`. Throws ConfigError when nothing matches within five years (e.g. 30 Feb).
std::int64_t next_fire(const CronExpr& cron, std::int64_t after, const std::string& tz = "Asia/Shanghai");

// Wall clock time <-> Unix seconds in `tz` (via the system zoneinfo).
struct CivilTime {
  int year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0;
};
CivilTime to_civil(std::int64_t unix_seconds, const std::string& tz);
std::int64_t from_civil(const CivilTime& t, const std::string& tz);

// Parses "2026-11-30T03:00" / "2026-11-30 03:00[:SS]" as wall time in `tz`, or "@UNIX", or "now".
std::int64_t parse_time(const std::string& text, const std::string& tz, std::int64_t now);
// "2026-11-30 03:00:00 +08:00" style rendering in `tz`.
std::string format_time(std::int64_t unix_seconds, const std::string& tz);

}  // namespace qinling::models
