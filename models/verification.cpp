#include "models/verification.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <utility>

namespace qinling::models {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
double ratio(double a, double b) { return b != 0 ? a / b : kNaN; }
}  // namespace

void ContinuousSums::add(double f, double o) {
  if (std::isnan(f) || std::isnan(o)) return;
  const double e = f - o;
  ++n;
  sum_f += f;
  sum_o += o;
  sum_e += e;
  sum_abs_e += std::fabs(e);
  sum_e2 += e * e;
  sum_f2 += f * f;
  sum_o2 += o * o;
  sum_fo += f * o;
  if (std::fabs(e) <= 1.0) ++within1;
  if (std::fabs(e) <= 2.0) ++within2;
}

void ContinuousSums::merge(const ContinuousSums& s) {
  n += s.n;
  within1 += s.within1;
  within2 += s.within2;
  sum_f += s.sum_f;
  sum_o += s.sum_o;
  sum_e += s.sum_e;
  sum_abs_e += s.sum_abs_e;
  sum_e2 += s.sum_e2;
  sum_f2 += s.sum_f2;
  sum_o2 += s.sum_o2;
  sum_fo += s.sum_fo;
}

ContinuousScores continuous_scores(const ContinuousSums& s) {
  ContinuousScores r;
  r.n = s.n;
  if (s.n == 0) {
    r.bias = r.mae = r.rmse = r.correlation = r.accuracy1 = r.accuracy2 = kNaN;
    return r;
  }
  const double n = double(s.n);
  r.bias = s.sum_e / n;
  r.mae = s.sum_abs_e / n;
  r.rmse = std::sqrt(s.sum_e2 / n);
  const double cov = s.sum_fo / n - (s.sum_f / n) * (s.sum_o / n);
  const double vf = s.sum_f2 / n - (s.sum_f / n) * (s.sum_f / n);
  const double vo = s.sum_o2 / n - (s.sum_o / n) * (s.sum_o / n);
  r.correlation = (vf > 0 && vo > 0) ? cov / std::sqrt(vf * vo) : kNaN;
  r.accuracy1 = double(s.within1) / n;
  r.accuracy2 = double(s.within2) / n;
  return r;
}

void Contingency::add(double f, double o) {
  if (std::isnan(f) || std::isnan(o)) return;
  const bool fe = f >= threshold, oe = o >= threshold;
  if (fe && oe) ++hits;
  else if (!fe && oe) ++misses;
  else if (fe && !oe) ++false_alarms;
  else ++correct_negatives;
}

void Contingency::merge(const Contingency& c) {
  hits += c.hits;
  misses += c.misses;
  false_alarms += c.false_alarms;
  correct_negatives += c.correct_negatives;
}

ScoreSums::ScoreSums(const std::vector<double>& thresholds) {
  for (double t : thresholds) cat.push_back(Contingency{t});
}

void ScoreSums::add(double f, double o) {
  if (std::isnan(f) || std::isnan(o)) return;
  cont.add(f, o);
  for (auto& c : cat) c.add(f, o);
}

void ScoreSums::merge(const ScoreSums& s) {
  cont.merge(s.cont);
  for (std::size_t i = 0; i < cat.size() && i < s.cat.size(); ++i) cat[i].merge(s.cat[i]);
}

CategoricalScores categorical_scores(const Contingency& c) {
  const double a = double(c.hits), b = double(c.false_alarms), m = double(c.misses), d = double(c.correct_negatives);
  const double n = a + b + m + d;
  CategoricalScores s;
  s.pod = ratio(a, a + m);
  s.far = ratio(b, a + b);
  s.csi = ratio(a, a + m + b);
  const double random_hits = n > 0 ? (a + m) * (a + b) / n : kNaN;
  s.ets = ratio(a - random_hits, a + m + b - random_hits);
  s.frequency_bias = ratio(a + b, a + m);
  s.accuracy = ratio(a + d, n);
  return s;
}

}  // namespace qinling::models

namespace qinling::models {

void FssSums::merge(const FssSums& s) {
  n += s.n;
  sum_d2 += s.sum_d2;
  sum_f2 += s.sum_f2;
  sum_o2 += s.sum_o2;
}

double fss(const FssSums& s) {
  const double ref = s.sum_f2 + s.sum_o2;
  return ref > 0 ? 1.0 - s.sum_d2 / ref : std::numeric_limits<double>::quiet_NaN();
}

namespace {
// Summed-area table of `flag(i)` over a width × height grid: t[(y + 1)(w + 1) + x + 1] = count in [0,x]×[0,y].
template <class Flag>
void summed_area(int width, int height, Flag flag, std::vector<std::uint32_t>& t) {
  const std::size_t w1 = std::size_t(width) + 1;
  t.assign(w1 * (std::size_t(height) + 1), 0);
  for (int y = 0; y < height; ++y) {
    std::uint32_t row = 0;
    for (int x = 0; x < width; ++x) {
      row += flag(std::size_t(y) * std::size_t(width) + std::size_t(x)) ? 1u : 0u;
      t[(std::size_t(y) + 1) * w1 + std::size_t(x) + 1] = t[std::size_t(y) * w1 + std::size_t(x) + 1] + row;
    }
  }
}
}  // namespace

FssTables fss_tables(const float* f, const float* o, int width, int height, double threshold) {
  FssTables t;
  t.width = width;
  t.height = height;
  t.threshold = threshold;
  auto valid = [&](std::size_t i) { return !std::isnan(f[i]) && !std::isnan(o[i]); };
  summed_area(width, height, valid, t.valid);
  summed_area(width, height, [&](std::size_t i) { return valid(i) && f[i] >= threshold; }, t.forecast);
  summed_area(width, height, [&](std::size_t i) { return valid(i) && o[i] >= threshold; }, t.observed);
  return t;
}

namespace {
// Calls add(cell index, Pf, Po) for every valid centre cell of rows [row_begin, row_end), row-major.
template <class Add>
void fss_cells(const FssTables& t, int window, int row_begin, int row_end, Add add) {
  const std::size_t w1 = std::size_t(t.width) + 1;
  auto box = [&](const std::vector<std::uint32_t>& a, std::size_t x0, std::size_t y0, std::size_t x1,
                 std::size_t y1) {
    return double(std::int64_t(a[y1 * w1 + x1]) - a[y0 * w1 + x1] - a[y1 * w1 + x0] + a[y0 * w1 + x0]);
  };
  const int h = window / 2;
  for (int y = row_begin; y < row_end; ++y) {
    const std::size_t y0 = std::size_t(std::max(0, y - h)), y1 = std::size_t(std::min(t.height, y + h + 1));
    for (int x = 0; x < t.width; ++x) {
      if (box(t.valid, std::size_t(x), std::size_t(y), std::size_t(x) + 1, std::size_t(y) + 1) == 0) continue;
      const std::size_t x0 = std::size_t(std::max(0, x - h)), x1 = std::size_t(std::min(t.width, x + h + 1));
      const double cells = box(t.valid, x0, y0, x1, y1);
      const double pf = box(t.forecast, x0, y0, x1, y1) / cells, po = box(t.observed, x0, y0, x1, y1) / cells;
      add(std::size_t(y) * std::size_t(t.width) + std::size_t(x), pf, po);
    }
  }
}

void add_cell(FssSums& s, double pf, double po) {
  ++s.n;
  s.sum_d2 += (pf - po) * (pf - po);
  s.sum_f2 += pf * pf;
  s.sum_o2 += po * po;
}
}  // namespace

FssSums fss_window_sums(const FssTables& t, int window, int row_begin, int row_end) {
  FssSums s;
  s.threshold = t.threshold;
  s.window = window;
  fss_cells(t, window, row_begin, row_end, [&](std::size_t, double pf, double po) { add_cell(s, pf, po); });
  return s;
}

std::vector<std::pair<int, FssSums>> fss_window_sums_by_label(const FssTables& t, int window, int row_begin,
                                                              int row_end, const std::int32_t* labels,
                                                              FssSums* whole) {
  FssSums all;
  all.threshold = t.threshold;
  all.window = window;
  std::vector<std::pair<int, FssSums>> out;
  std::unordered_map<int, std::size_t> where;
  // The current run of one label in plain scalars (kept in registers: a struct written through memory
  // every cell stalls on store forwarding).
  int last = -1;
  std::int64_t rn = 0;
  double rd2 = 0, rf2 = 0, ro2 = 0;
  const auto flush = [&](int label, std::int64_t n, double d2, double f2, double o2) {
    if (label < 0 || n == 0) return;
    FssSums r;
    r.threshold = t.threshold;
    r.window = window;
    r.n = n, r.sum_d2 = d2, r.sum_f2 = f2, r.sum_o2 = o2;
    const auto [it, fresh] = where.emplace(label, out.size());
    if (fresh)
      out.emplace_back(label, r);
    else
      out[it->second].second.merge(r);
  };
  fss_cells(t, window, row_begin, row_end, [&](std::size_t i, double pf, double po) {
    add_cell(all, pf, po);  // the same order as fss_window_sums
    const int label = labels[i];
    if (label != last) {
      flush(last, rn, rd2, rf2, ro2);
      last = label, rn = 0, rd2 = rf2 = ro2 = 0;
    }
    ++rn;
    rd2 += (pf - po) * (pf - po);
    rf2 += pf * pf;
    ro2 += po * po;
  });
  flush(last, rn, rd2, rf2, ro2);
  if (whole != nullptr) *whole = all;
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

std::vector<FssSums> fss_sums(const float* f, const float* o, int width, int height,
                              const std::vector<double>& thresholds, const std::vector<int>& windows) {
  std::vector<FssSums> out;
  for (double t : thresholds) {
    const FssTables tables = fss_tables(f, o, width, height, t);
    for (int n : windows) out.push_back(fss_window_sums(tables, n, 0, height));
  }
  return out;
}

}  // namespace qinling::models
