#include "models/zonal_stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "models/errors.hpp"

namespace qinling::models {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct NamedKind {
  const char* name;
  StatKind kind;
  bool takes_arg;
};
constexpr NamedKind kKinds[] = {
    {"count", StatKind::count, false},
    {"valid_fraction", StatKind::valid_fraction, false},
    {"sum", StatKind::sum, false},
    {"mean", StatKind::mean, false},
    {"min", StatKind::min, false},
    {"max", StatKind::max, false},
    {"stddev", StatKind::stddev, false},
    {"median", StatKind::median, false},
    {"frac_above", StatKind::frac_above, true},
    {"frac_below", StatKind::frac_below, true},
    {"majority", StatKind::majority, false},
    {"minority", StatKind::minority, false},
    {"variety", StatKind::variety, false},
    {"histogram", StatKind::histogram, false},
};

bool parse_number(const std::string& s, double& out) {
  if (s.empty()) return false;
  std::size_t used = 0;
  try {
    out = std::stod(s, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == s.size() && std::isfinite(out);
}

bool valid_column(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
  });
}

// "frac_below(-0.25)" → "frac_below_m0_25": a column name that every format and rule accepts.
std::string default_column(const std::string& stat, const std::string& arg) {
  std::string out = stat;
  if (arg.empty()) return out;
  out += '_';
  for (char c : arg) out += c == '-' ? 'm' : (c == '.' ? '_' : c);
  return out;
}

}  // namespace

std::string stat_names() {
  std::string s;
  for (const auto& k : kKinds) s += std::string(s.empty() ? "" : ", ") + k.name + (k.takes_arg ? "(T)" : "");
  return s + ", pNN (percentile 0..100); any of them as name=stat";
}

StatRequest parse_stat(const std::string& text) {
  std::string body = text, column;
  if (auto eq = text.find('='); eq != std::string::npos) {
    column = text.substr(0, eq);
    body = text.substr(eq + 1);
    if (!valid_column(column))
      throw ConfigError("'" + column + "' is not a usable column name (letters, digits and _ only)");
  }
  std::string name = body, arg;
  if (auto open = body.find('('); open != std::string::npos) {
    if (body.back() != ')') throw ConfigError("'" + text + "': missing ')'");
    name = body.substr(0, open);
    arg = body.substr(open + 1, body.size() - open - 2);
  }
  StatRequest r;
  bool found = false;
  for (const auto& k : kKinds) {
    if (name != k.name) continue;
    found = true;
    r.kind = k.kind;
    if (k.takes_arg && !parse_number(arg, r.arg))
      throw ConfigError("'" + text + "': " + name + " needs a threshold, e.g. " + name + "(-0.2)");
    if (!k.takes_arg && !arg.empty()) throw ConfigError("'" + text + "': " + name + " takes no argument");
  }
  if (!found && name.size() > 1 && name[0] == 'p' && arg.empty() && parse_number(name.substr(1), r.arg) &&
      r.arg >= 0 && r.arg <= 100 && name.find_first_not_of("p0123456789.") == std::string::npos) {
    found = true;
    r.kind = StatKind::percentile;
  }
  if (!found) throw ConfigError("unknown statistic '" + text + "' (known: " + stat_names() + ")");
  r.column = column.empty() ? default_column(name, arg) : column;
  return r;
}

AccumulatorConfig AccumulatorConfig::from(const std::vector<StatRequest>& requests, int bins, double hist_min,
                                          double hist_max) {
  AccumulatorConfig c;
  c.bins = std::max(bins, 2);
  c.hist_min = hist_min;
  c.hist_max = hist_max > hist_min ? hist_max : hist_min + 1;
  for (const auto& r : requests) {
    if (r.kind == StatKind::frac_above) c.above.push_back(r.arg);
    if (r.kind == StatKind::frac_below) c.below.push_back(r.arg);
    if (r.kind == StatKind::median || r.kind == StatKind::percentile) c.quantiles = true;
    if (r.kind == StatKind::majority || r.kind == StatKind::minority || r.kind == StatKind::variety ||
        r.kind == StatKind::histogram)
      c.classes = true;
  }
  return c;
}

// What only some requests need, allocated on first use so plain mean/count cells stay small.
struct StatsAccumulator::Extra {
  std::vector<double> above, below;                      // covered weight past each threshold
  std::vector<std::pair<float, float>> values;           // exact (value, weight) until folded
  std::vector<float> histogram;                          // `bins` weights once folded
  std::vector<std::pair<std::int64_t, double>> classes;  // sorted by class
};

StatsAccumulator::StatsAccumulator(const StatsAccumulator& o)
    : config_(o.config_),
      total_weight_(o.total_weight_),
      weight_(o.weight_),
      sum_(o.sum_),
      mean_(o.mean_),
      m2_(o.m2_),
      min_(o.min_),
      max_(o.max_),
      extra_(o.extra_ ? std::make_unique<Extra>(*o.extra_) : nullptr) {}

StatsAccumulator& StatsAccumulator::operator=(const StatsAccumulator& o) {
  if (this != &o) *this = StatsAccumulator(o);
  return *this;
}

StatsAccumulator::StatsAccumulator(const AccumulatorConfig* config) : config_(config) {}
StatsAccumulator::~StatsAccumulator() = default;
StatsAccumulator::StatsAccumulator(StatsAccumulator&&) noexcept = default;
StatsAccumulator& StatsAccumulator::operator=(StatsAccumulator&&) noexcept = default;

StatsAccumulator::Extra& StatsAccumulator::extra() {
  if (!extra_) {
    extra_ = std::make_unique<Extra>();
    extra_->above.assign(config_->above.size(), 0.0);
    extra_->below.assign(config_->below.size(), 0.0);
  }
  return *extra_;
}

namespace {

void fold_value(std::vector<float>& hist, const AccumulatorConfig& c, double v, double w) {
  const double f = (v - c.hist_min) / (c.hist_max - c.hist_min) * c.bins;
  const int b = f < 0 ? 0 : (f >= c.bins ? c.bins - 1 : int(f));
  hist[b] += float(w);
}

void add_class(std::vector<std::pair<std::int64_t, double>>& classes, std::int64_t k, double w) {
  auto it = std::lower_bound(classes.begin(), classes.end(), k,
                             [](const auto& p, std::int64_t c) { return p.first < c; });
  if (it != classes.end() && it->first == k)
    it->second += w;
  else
    classes.insert(it, {k, w});
}

}  // namespace

void StatsAccumulator::add_valid(double value, double weight) {
  if (weight_ == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  const double w_new = weight_ + weight;
  const double delta = value - mean_;
  mean_ += delta * weight / w_new;
  m2_ += weight * delta * (value - mean_);
  weight_ = w_new;
  sum_ += weight * value;
  if (config_ == nullptr) return;
  const AccumulatorConfig& c = *config_;
  if (c.above.empty() && c.below.empty() && !c.quantiles && !c.classes) return;
  Extra& e = extra();
  for (std::size_t i = 0; i < c.above.size(); ++i)
    if (value > c.above[i]) e.above[i] += weight;
  for (std::size_t i = 0; i < c.below.size(); ++i)
    if (value < c.below[i]) e.below[i] += weight;
  if (c.quantiles) {
    if (e.histogram.empty()) {
      e.values.emplace_back(float(value), float(weight));
      if (e.values.size() > std::size_t(c.bins / 2)) {
        e.histogram.assign(c.bins, 0.0f);
        for (const auto& [v, w] : e.values) fold_value(e.histogram, c, v, w);
        e.values.clear();
        e.values.shrink_to_fit();
      }
    } else {
      fold_value(e.histogram, c, value, weight);
    }
  }
  if (c.classes) add_class(e.classes, std::llround(value), weight);
}

void StatsAccumulator::merge(const StatsAccumulator& o) {
  total_weight_ += o.total_weight_;
  if (o.weight_ == 0) return;
  if (weight_ == 0) {
    min_ = o.min_;
    max_ = o.max_;
  } else {
    min_ = std::min(min_, o.min_);
    max_ = std::max(max_, o.max_);
  }
  const double n = weight_ + o.weight_;
  const double delta = o.mean_ - mean_;
  mean_ += delta * o.weight_ / n;
  m2_ += o.m2_ + delta * delta * weight_ * o.weight_ / n;
  weight_ = n;
  sum_ += o.sum_;
  if (!o.extra_) return;
  const AccumulatorConfig& c = *config_;
  Extra& e = extra();
  const Extra& oe = *o.extra_;
  for (std::size_t i = 0; i < e.above.size(); ++i) e.above[i] += oe.above[i];
  for (std::size_t i = 0; i < e.below.size(); ++i) e.below[i] += oe.below[i];
  if (c.quantiles) {
    const bool fold = !e.histogram.empty() || !oe.histogram.empty() ||
                      e.values.size() + oe.values.size() > std::size_t(c.bins / 2);
    if (fold) {
      if (e.histogram.empty()) {
        e.histogram.assign(c.bins, 0.0f);
        for (const auto& [v, w] : e.values) fold_value(e.histogram, c, v, w);
        e.values.clear();
        e.values.shrink_to_fit();
      }
      for (const auto& [v, w] : oe.values) fold_value(e.histogram, c, v, w);
      for (std::size_t b = 0; b < oe.histogram.size(); ++b) e.histogram[b] += oe.histogram[b];
    } else {
      e.values.insert(e.values.end(), oe.values.begin(), oe.values.end());
    }
  }
  for (const auto& [k, w] : oe.classes) add_class(e.classes, k, w);
}

double StatsAccumulator::mean() const { return weight_ > 0 ? mean_ : kNaN; }
double StatsAccumulator::min() const { return weight_ > 0 ? min_ : kNaN; }
double StatsAccumulator::max() const { return weight_ > 0 ? max_ : kNaN; }
double StatsAccumulator::stddev() const {
  return weight_ > 0 ? std::sqrt(std::max(0.0, m2_ / weight_)) : kNaN;
}

bool StatsAccumulator::exact_quantiles() const { return !extra_ || extra_->histogram.empty(); }

double StatsAccumulator::quantile(double q) const {
  if (!(weight_ > 0) || !extra_) return kNaN;
  q = std::clamp(q, 0.0, 1.0);
  const Extra& e = *extra_;
  if (e.histogram.empty()) {
    auto v = e.values;
    std::sort(v.begin(), v.end());
    double total = 0;
    for (const auto& p : v) total += p.second;
    if (!(total > 0)) return kNaN;
    // Position of each value: the middle of its cumulative weight, as a fraction of the total.
    double cum = 0, prev_pos = 0, prev_val = v.front().first;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const double pos = (cum + v[i].second / 2) / total;
      cum += v[i].second;
      if (q <= pos) {
        if (i == 0) return v[0].first;
        return prev_val + (v[i].first - prev_val) * (q - prev_pos) / (pos - prev_pos);
      }
      prev_pos = pos;
      prev_val = v[i].first;
    }
    return v.back().first;
  }
  const AccumulatorConfig& c = *config_;
  double total = 0;
  for (float w : e.histogram) total += w;
  const double target = q * total, width = (c.hist_max - c.hist_min) / c.bins;
  double cum = 0;
  for (int b = 0; b < c.bins; ++b) {
    const double w = e.histogram[b];
    if (w > 0 && cum + w >= target) {
      const double x = c.hist_min + (b + (target - cum) / w) * width;
      return std::clamp(x, min_, max_);
    }
    cum += w;
  }
  return max_;
}

double StatsAccumulator::fraction_above(std::size_t i) const {
  if (!(weight_ > 0)) return kNaN;
  return extra_ ? extra_->above.at(i) / weight_ : 0.0;
}

double StatsAccumulator::fraction_below(std::size_t i) const {
  if (!(weight_ > 0)) return kNaN;
  return extra_ ? extra_->below.at(i) / weight_ : 0.0;
}

std::vector<std::pair<std::int64_t, double>> StatsAccumulator::classes() const {
  return extra_ ? extra_->classes : std::vector<std::pair<std::int64_t, double>>{};
}

double StatsAccumulator::finish(const StatRequest& r, std::size_t ti) const {
  switch (r.kind) {
    case StatKind::count:
      return count();
    case StatKind::valid_fraction:
      return valid_fraction();
    case StatKind::sum:
      return sum();
    case StatKind::mean:
      return mean();
    case StatKind::min:
      return min();
    case StatKind::max:
      return max();
    case StatKind::stddev:
      return stddev();
    case StatKind::median:
      return quantile(0.5);
    case StatKind::percentile:
      return quantile(r.arg / 100);
    case StatKind::frac_above:
      return fraction_above(ti);
    case StatKind::frac_below:
      return fraction_below(ti);
    case StatKind::majority:
    case StatKind::minority: {
      const auto cls = classes();
      if (cls.empty()) return kNaN;
      auto best = cls.front();
      for (const auto& p : cls)
        if (r.kind == StatKind::majority ? p.second > best.second : p.second < best.second) best = p;
      return double(best.first);
    }
    case StatKind::variety:
      return double(classes().size());
    case StatKind::histogram:
      return kNaN;
  }
  return kNaN;
}

std::string StatsAccumulator::finish_text(const StatRequest&) const {
  std::string out;
  char buf[64];
  for (const auto& [k, w] : classes()) {
    std::snprintf(buf, sizeof buf, "%s%lld:%.4g", out.empty() ? "" : ";", static_cast<long long>(k),
                  w / weight_);
    out += buf;
  }
  return out;
}

namespace {

// Raw bytes of trivially copyable values and vectors of them (same machine type on every rank).
template <class T>
void put(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <class T>
void put_vec(std::string& out, const std::vector<T>& v) {
  put(out, std::uint64_t(v.size()));
  out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}
void need(const char* p, const char* end, std::size_t n) {
  if (std::size_t(end - p) < n) throw ProcessingError("zonal statistics: truncated partial accumulator");
}
template <class T>
void get(const char*& p, const char* end, T& v) {
  need(p, end, sizeof v);
  std::memcpy(static_cast<void*>(&v), p, sizeof v);
  p += sizeof v;
}
template <class T>
void get_vec(const char*& p, const char* end, std::vector<T>& v) {
  std::uint64_t n = 0;
  get(p, end, n);
  // Divide, not multiply: a corrupt count must not wrap around to a small size.
  if (n > std::uint64_t(end - p) / sizeof(T)) need(p, end, std::size_t(end - p) + 1);
  v.resize(n);
  // memcpy from/to a null pointer is undefined even for 0 bytes (an empty vector's data()).
  if (n > 0) std::memcpy(static_cast<void*>(v.data()), p, n * sizeof(T));  // pairs of plain numbers
  p += n * sizeof(T);
}

}  // namespace

void StatsAccumulator::write(std::string& out) const {
  for (double v : {total_weight_, weight_, sum_, mean_, m2_, min_, max_}) put(out, v);
  put(out, std::uint8_t(extra_ ? 1 : 0));  // whether Extra exists changes how merges behave
  if (!extra_) return;
  put_vec(out, extra_->above);
  put_vec(out, extra_->below);
  put_vec(out, extra_->values);
  put_vec(out, extra_->histogram);
  put_vec(out, extra_->classes);
}

StatsAccumulator StatsAccumulator::read(const char*& p, const char* end, const AccumulatorConfig* config) {
  StatsAccumulator a(config);
  for (double* v : {&a.total_weight_, &a.weight_, &a.sum_, &a.mean_, &a.m2_, &a.min_, &a.max_})
    get(p, end, *v);
  std::uint8_t has_extra = 0;
  get(p, end, has_extra);
  if (!has_extra) return a;
  a.extra_ = std::make_unique<Extra>();
  get_vec(p, end, a.extra_->above);
  get_vec(p, end, a.extra_->below);
  get_vec(p, end, a.extra_->values);
  get_vec(p, end, a.extra_->histogram);
  get_vec(p, end, a.extra_->classes);
  return a;
}

}  // namespace qinling::models
