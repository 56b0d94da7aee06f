// Per-cell summaries of field observations (patrol fixes, incident reports): count, last time
// seen, attribute sums and majority class, plus the timestamp parsing they need.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace qinling::models {

// Parses "YYYY-MM-DD", "YYYY-MM-DD[T| ]HH:MM[:SS[.fff]]" (also with '/' between date parts)
// with an optional "Z" or "±HH[:]MM" suffix into Unix seconds. Text without an offset is read
// at `default_offset_minutes` east of UTC (480 = China Standard Time). nullopt when malformed.
std::optional<double> parse_timestamp(const std::string& text, int default_offset_minutes);

// "YYYY-MM-DD HH:MM:SS" at `offset_minutes` east of UTC (seconds truncated).
std::string format_timestamp(double unix_seconds, int offset_minutes);

// What is accumulated for one cell. Majority ties go to the smallest value (byte order), so the
// result does not depend on the order of the rows.
struct PointCellSummary {
  long long count = 0;
  double last = -1e300;      // latest valid time (Unix seconds); -1e300 when none
  std::vector<double> sums;  // per sum field; NaN until a value is added
  std::vector<std::map<std::string, long long>> classes;  // per majority field

  void add_time(double t) {
    if (t > last) last = t;
  }
  bool has_time() const { return last > -1e299; }
  void add_sum(std::size_t field, double v);
  void add_class(std::size_t field, const std::string& value);
  std::string majority(std::size_t field) const;  // "" when no value was seen
};

}  // namespace qinling::models
