#include "models/meteo.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace qinling::models {

std::string canonical_unit(const std::string& unit) {
  std::string u;
  for (char c : unit)
    if (c != ' ' && c != '[' && c != ']') u += c;
  static const std::map<std::string, std::string> aliases{
      {"K", "K"},          {"kelvin", "K"},       {"degK", "K"},      {"C", "degC"},     {"°C", "degC"},
      {"degC", "degC"},    {"celsius", "degC"},   {"degrees_C", "degC"}, {"F", "degF"},  {"degF", "degF"},
      {"m", "m"},          {"gpm", "m"},         {"mm", "mm"},          {"kg/(m^2)", "mm"}, {"kgm-2", "mm"},   {"kgm**-2", "mm"},
      {"kg/m2", "mm"},     {"kg/m^2", "mm"},      {"Pa", "Pa"},       {"hPa", "hPa"},    {"mb", "hPa"},
      {"millibars", "hPa"}, {"kgm-2s-1", "mm/s"}, {"kgm**-2s**-1", "mm/s"}, {"kg/m2/s", "mm/s"},
      {"kg/(m^2s)", "mm/s"}, {"kg/(m^2)/s", "mm/s"}, {"mm/s", "mm/s"}, {"mms-1", "mm/s"}, {"mm/h", "mm/h"},
      {"mm/hr", "mm/h"}, {"mmh-1", "mm/h"}, {"mm/d", "mm/d"}, {"mm/day", "mm/d"}, {"m/s", "m/s"},       {"ms-1", "m/s"},    {"ms**-1", "m/s"}, {"km/h", "km/h"}};
  const auto it = aliases.find(u);
  return it == aliases.end() ? u : it->second;
}

std::optional<LinearUnit> unit_conversion(const std::string& from, const std::string& to) {
  const std::string f = canonical_unit(from), t = canonical_unit(to);
  if (f == t) return LinearUnit{};
  // Each convertible family expressed as value_in_base = v × a + b.
  struct ToBase {
    std::string family;
    double a, b;
  };
  static const std::map<std::string, ToBase> base{
      {"K", {"temperature", 1.0, 0.0}},  {"degC", {"temperature", 1.0, 273.15}},
      {"degF", {"temperature", 5.0 / 9.0, 273.15 - 32.0 * 5.0 / 9.0}},
      {"m", {"length", 1.0, 0.0}},       {"mm", {"length", 1e-3, 0.0}},
      {"Pa", {"pressure", 1.0, 0.0}},    {"hPa", {"pressure", 100.0, 0.0}},
      {"m/s", {"speed", 1.0, 0.0}},      {"km/h", {"speed", 1.0 / 3.6, 0.0}},
      // Precipitation rates: 1 kg m-2 of water is 1 mm deep.
      {"mm/s", {"rate", 1.0, 0.0}},      {"mm/h", {"rate", 1.0 / 3600.0, 0.0}},
      {"mm/d", {"rate", 1.0 / 86400.0, 0.0}}};
  const auto a = base.find(f), b = base.find(t);
  if (a == base.end() || b == base.end() || a->second.family != b->second.family) return std::nullopt;
  // to = (v × a1 + b1 − b2) / a2
  return LinearUnit{a->second.a / b->second.a, (a->second.b - b->second.b) / b->second.a};
}

double idw(const std::vector<Station>& stations, double x, double y, const IdwOptions& o) {
  std::vector<std::pair<double, std::size_t>> cand;  // squared distance, index
  cand.reserve(stations.size());
  const double max2 = o.max_distance > 0 ? o.max_distance * o.max_distance : std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < stations.size(); ++i) {
    const double dx = stations[i].x - x, dy = stations[i].y - y;
    const double d2 = dx * dx + dy * dy;
    if (d2 <= max2 && std::isfinite(stations[i].value)) cand.emplace_back(d2, i);
  }
  if (cand.empty()) return std::numeric_limits<double>::quiet_NaN();
  if (o.nearest > 0 && cand.size() > o.nearest) {
    std::partial_sort(cand.begin(), cand.begin() + std::ptrdiff_t(o.nearest), cand.end());
    cand.resize(o.nearest);
    // Back to station order, so the sum is formed in the same order whatever the selection.
    std::sort(cand.begin(), cand.end(), [](const auto& p, const auto& q) { return p.second < q.second; });
  }
  double sw = 0, swv = 0;
  for (const auto& [d2, i] : cand) {
    if (d2 == 0) return stations[i].value;
    const double w = std::pow(d2, -o.power / 2.0);
    sw += w;
    swv += w * stations[i].value;
  }
  return swv / sw;
}

LinearFit fit_line(const std::vector<double>& x, const std::vector<double>& y) {
  LinearFit f;
  f.n = std::min(x.size(), y.size());
  if (f.n == 0) return f;
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < f.n; ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= double(f.n);
  my /= double(f.n);
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < f.n; ++i) {
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
  }
  f.slope = (f.n >= 2 && sxx > 0) ? sxy / sxx : 0.0;
  f.intercept = my - f.slope * mx;
  return f;
}

}  // namespace qinling::models
