#include "models/point_summary.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace qinling::models {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil algorithm).
long long days_from_civil(long long y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (long long)doe - 719468;
}

void civil_from_days(long long z, int& y, int& m, int& d) {
  z += 719468;
  const long long era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = unsigned(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = int(doy - (153 * mp + 2) / 5 + 1);
  m = int(mp < 10 ? mp + 3 : mp - 9);
  y = int(yoe + era * 400 + (m <= 2));
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int month_days(int y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : days[m - 1];
}

// Reads exactly `n` digits at `p`; advances it.
bool digits(const char*& p, int n, int& out) {
  out = 0;
  for (int i = 0; i < n; ++i, ++p) {
    if (!std::isdigit(static_cast<unsigned char>(*p))) return false;
    out = out * 10 + (*p - '0');
  }
  return true;
}

}  // namespace

std::optional<double> parse_timestamp(const std::string& text, int default_offset_minutes) {
  std::size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  const std::string s = text.substr(b, e - b);
  const char* p = s.c_str();
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  double frac = 0;
  if (!digits(p, 4, y) || (*p != '-' && *p != '/')) return std::nullopt;
  const char sep = *p++;
  if (!digits(p, 2, mo) || *p++ != sep || !digits(p, 2, d)) return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo)) return std::nullopt;
  if (*p == 'T' || *p == ' ') {
    ++p;
    if (!digits(p, 2, h) || *p++ != ':' || !digits(p, 2, mi)) return std::nullopt;
    if (*p == ':') {
      ++p;
      if (!digits(p, 2, sec)) return std::nullopt;
      if (*p == '.') {
        char* end = nullptr;
        frac = std::strtod(p, &end);
        if (end == p + 1) return std::nullopt;
        p = end;
      }
    }
    if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
  }
  int offset = default_offset_minutes;
  if (*p == 'Z') {
    offset = 0;
    ++p;
  } else if (*p == '+' || *p == '-') {
    const int sign = *p++ == '-' ? -1 : 1;
    int oh = 0, om = 0;
    if (!digits(p, 2, oh)) return std::nullopt;
    if (*p == ':') ++p;
    if (*p != '\0' && !digits(p, 2, om)) return std::nullopt;
    if (oh > 14 || om > 59) return std::nullopt;
    offset = sign * (oh * 60 + om);
  }
  if (*p != '\0') return std::nullopt;
  const double local =
      double(days_from_civil(y, unsigned(mo), unsigned(d))) * 86400.0 + h * 3600.0 + mi * 60.0 + sec + frac;
  return local - offset * 60.0;
}

std::string format_timestamp(double unix_seconds, int offset_minutes) {
  const long long t = (long long)std::floor(unix_seconds) + offset_minutes * 60LL;
  long long days = t / 86400, rem = t % 86400;
  if (rem < 0) rem += 86400, --days;
  int y = 0, m = 0, d = 0;
  civil_from_days(days, y, m, d);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", y, m, d, int(rem / 3600),
                int(rem / 60 % 60), int(rem % 60));
  return buf;
}

void PointCellSummary::add_sum(std::size_t field, double v) {
  if (sums.size() <= field) sums.resize(field + 1, NAN);
  sums[field] = std::isnan(sums[field]) ? v : sums[field] + v;
}

void PointCellSummary::add_class(std::size_t field, const std::string& value) {
  if (classes.size() <= field) classes.resize(field + 1);
  ++classes[field][value];
}

std::string PointCellSummary::majority(std::size_t field) const {
  if (field >= classes.size()) return "";
  const std::string* best = nullptr;
  long long n = 0;
  for (const auto& [value, seen] : classes[field])  // ascending: the first of equal counts wins
    if (seen > n) best = &value, n = seen;
  return best ? *best : "";
}

}  // namespace qinling::models
