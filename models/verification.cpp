#include "models/verification.hpp"

#include <cmath>
#include <limits>

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
