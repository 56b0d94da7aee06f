#include "models/cron.hpp"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <optional>
#include <vector>

#include "models/errors.hpp"

namespace qinling::models {
namespace {

struct FieldSpec {
  const char* name;
  int lo, hi;
  const char* names[12];  // accepted 3-letter names starting at `lo` (months, weekdays)
};

const FieldSpec kFields[5] = {
    {"minute", 0, 59, {}},
    {"hour", 0, 23, {}},
    {"day-of-month", 1, 31, {}},
    {"month", 1, 12, {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
    {"day-of-week", 0, 7, {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
};

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

[[noreturn]] void bad_field(const FieldSpec& f, const std::string& expr, const std::string& part,
                            const std::string& why) {
  throw ConfigError("cron '" + expr + "': " + f.name + " field '" + part + "' " + why +
                    " (allowed: " + std::to_string(f.lo) + "-" + std::to_string(f.hi) +
                    ", *, lists a,b, ranges a-b, steps */n or a-b/n)");
}

int parse_value(const FieldSpec& f, const std::string& expr, const std::string& part, const std::string& s) {
  const std::string l = lower(s);
  for (int i = 0; i < 12 && f.names[i] != nullptr; ++i)
    if (l == f.names[i]) return f.lo + i;
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 4)
    bad_field(f, expr, part, "has '" + s + "', not a number");
  const int v = std::stoi(s);
  if (v < f.lo || v > f.hi) bad_field(f, expr, part, "is out of range");
  return v;
}

// One comma-separated field → the set of allowed values; returns whether it was a bare '*'.
bool parse_field(const FieldSpec& f, const std::string& expr, const std::string& field,
                 std::vector<bool>& allowed) {
  allowed.assign(f.hi + 1, false);
  if (field.empty()) bad_field(f, expr, field, "is empty");
  std::size_t start = 0;
  while (start <= field.size()) {
    const std::size_t comma = field.find(',', start);
    const std::string part =
        field.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (part.empty()) bad_field(f, expr, field, "has an empty list item");
    std::string range = part;
    int step = 1;
    if (const auto slash = part.find('/'); slash != std::string::npos) {
      range = part.substr(0, slash);
      const std::string st = part.substr(slash + 1);
      if (st.empty() || st.find_first_not_of("0123456789") != std::string::npos || st.size() > 4 ||
          std::stoi(st) == 0)
        bad_field(f, expr, part, "has a bad step '" + st + "'");
      step = std::stoi(st);
    }
    int a = f.lo, b = f.hi;
    if (range != "*") {
      if (const auto dash = range.find('-'); dash != std::string::npos) {
        a = parse_value(f, expr, part, range.substr(0, dash));
        b = parse_value(f, expr, part, range.substr(dash + 1));
        if (a > b) bad_field(f, expr, part, "is a range whose start is after its end");
      } else {
        a = parse_value(f, expr, part, range);
        b = part.find('/') != std::string::npos ? f.hi : a;  // "5/15" means 5 to the end, every 15
      }
    }
    for (int v = a; v <= b; v += step) allowed[v] = true;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return field.front() == '*';  // like Vixie cron: "*/2" also counts as unrestricted for the day rule
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's civil-days algorithm).
std::int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = (153 * unsigned(m + (m > 2 ? -3 : 9)) + 2) / 5 + unsigned(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + std::int64_t(doe) - 719468;
}

int days_in_month(int y, int m) {
  static const int k[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : k[m - 1];
}

// The C library converts wall time through the TZ variable, which is process-wide: serialise.
std::mutex& tz_mutex() {
  static std::mutex m;
  return m;
}

class TzScope {
 public:
  explicit TzScope(const std::string& tz) : lock_(tz_mutex()) {
    if (const char* old = std::getenv("TZ")) old_ = std::string(old);
    ::setenv("TZ", tz.c_str(), 1);
    ::tzset();
  }
  ~TzScope() {
    if (old_)
      ::setenv("TZ", old_->c_str(), 1);
    else
      ::unsetenv("TZ");
    ::tzset();
  }
  TzScope(const TzScope&) = delete;
  TzScope& operator=(const TzScope&) = delete;

 private:
  std::lock_guard<std::mutex> lock_;
  std::optional<std::string> old_;
};

}  // namespace

CronExpr parse_cron(const std::string& text) {
  std::vector<std::string> fields;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    if (j > i) fields.push_back(text.substr(i, j - i));
    i = j;
  }
  if (fields.size() != 5)
    throw ConfigError("cron '" + text +
                      "': expected 5 fields (minute hour day-of-month month day-of-week), got " +
                      std::to_string(fields.size()) + "; e.g. '0 3 * * 1' is every Monday at 03:00");
  CronExpr c;
  c.text = text;
  std::vector<bool> a;
  parse_field(kFields[0], text, fields[0], a);
  for (int v = 0; v < 60; ++v) c.minutes[v] = a[v];
  parse_field(kFields[1], text, fields[1], a);
  for (int v = 0; v < 24; ++v) c.hours[v] = a[v];
  c.days_any = parse_field(kFields[2], text, fields[2], a);
  for (int v = 1; v <= 31; ++v) c.days[v] = a[v];
  parse_field(kFields[3], text, fields[3], a);
  for (int v = 1; v <= 12; ++v) c.months[v] = a[v];
  c.weekdays_any = parse_field(kFields[4], text, fields[4], a);
  for (int v = 0; v <= 6; ++v) c.weekdays[v] = a[v];
  if (a[7]) c.weekdays[0] = true;
  return c;
}

void check_time_zone(const std::string& tz) {
  namespace fs = std::filesystem;
  const bool ok = !tz.empty() && tz.find("..") == std::string::npos && tz.front() != '/' &&
                  fs::is_regular_file(fs::path("/usr/share/zoneinfo") / tz);
  if (!ok)
    throw ConfigError("unknown time zone '" + tz +
                      "': use an IANA name such as Asia/Shanghai or UTC (see /usr/share/zoneinfo)");
}

CivilTime to_civil(std::int64_t unix_seconds, const std::string& tz) {
  TzScope scope(tz);
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  return {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec};
}

std::int64_t from_civil(const CivilTime& c, const std::string& tz) {
  TzScope scope(tz);
  std::tm tm{};
  tm.tm_year = c.year - 1900;
  tm.tm_mon = c.month - 1;
  tm.tm_mday = c.day;
  tm.tm_hour = c.hour;
  tm.tm_min = c.minute;
  tm.tm_sec = c.second;
  tm.tm_isdst = -1;  // let the zone decide (daylight saving where it applies)
  return static_cast<std::int64_t>(std::mktime(&tm));
}

std::int64_t next_fire(const CronExpr& cron, std::int64_t after, const std::string& tz) {
  check_time_zone(tz);
  const std::int64_t start = (after >= 0 ? after / 60 + 1 : -((-after) / 60)) * 60;
  CivilTime c = to_civil(start, tz);
  c.second = 0;
  const int last_year = c.year + 5;
  auto next_day = [&] {
    c.hour = c.minute = 0;
    if (++c.day > days_in_month(c.year, c.month)) {
      c.day = 1;
      if (++c.month > 12) c.month = 1, ++c.year;
    }
  };
  while (c.year <= last_year) {
    if (!cron.months[c.month]) {
      c.day = 1, c.hour = c.minute = 0;
      if (++c.month > 12) c.month = 1, ++c.year;
      continue;
    }
    const int wd =
        int(((days_from_civil(c.year, c.month, c.day) % 7) + 11) % 7);  // 1970-01-01 was a Thursday
    const bool dom = cron.days[c.day], dow = cron.weekdays[wd];
    const bool day_ok = cron.days_any && cron.weekdays_any ? true
                        : cron.days_any                    ? dow
                        : cron.weekdays_any                ? dom
                                                           : (dom || dow);
    if (!day_ok) {
      next_day();
      continue;
    }
    if (!cron.hours[c.hour]) {
      c.minute = 0;
      if (++c.hour > 23) next_day();
      continue;
    }
    if (cron.minutes[c.minute]) {
      const std::int64_t t = from_civil(c, tz);
      if (t > after) return t;
    }
    if (++c.minute > 59) {
      c.minute = 0;
      if (++c.hour > 23) next_day();
    }
  }
  throw ConfigError("cron '" + cron.text + "' never fires (no matching date within five years)");
}

std::int64_t parse_time(const std::string& text, const std::string& tz, std::int64_t now) {
  if (text == "now") return now;
  const auto bad = [&] {
    return ConfigError("--at '" + text + "': expected YYYY-MM-DD[THH:MM[:SS]] (wall time in " + tz + "), @UNIX or now");
  };
  if (!text.empty() && text[0] == '@') {
    // Digits only (an optional '-'), at most 18 of them: std::stoll would throw on anything else.
    const std::string n = text.substr(1);
    const std::size_t digits = n.size() - (n.rfind('-', 0) == 0 ? 1 : 0);
    if (digits == 0 || digits > 18 || n.find_first_not_of("0123456789", n.size() - digits) != std::string::npos)
      throw bad();
    return std::stoll(n);
  }
  CivilTime c;
  char sep = 0;
  int n = std::sscanf(text.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d", &c.year, &c.month, &c.day, &sep, &c.hour,
                      &c.minute, &c.second);
  if (n == 3) c.hour = c.minute = 0;
  const bool ok = (n == 3 || n >= 6) && (n == 3 || sep == 'T' || sep == ' ') && c.month >= 1 &&
                  c.month <= 12 && c.day >= 1 && c.day <= days_in_month(c.year, c.month) && c.hour >= 0 &&
                  c.hour < 24 && c.minute >= 0 && c.minute < 60 && c.second >= 0 && c.second < 60;
  if (!ok) throw bad();
  return from_civil(c, tz);
}

std::string format_time(std::int64_t unix_seconds, const std::string& tz) {
  TzScope scope(tz);
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z", &tm);
  return buf;
}

}  // namespace qinling::models
