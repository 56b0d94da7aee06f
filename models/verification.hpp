// Forecast verification scores from partial sums (no GDAL): continuous scores (bias, MAE, RMSE,
// correlation, the CMA temperature accuracy within ±1/±2 °C) and 2×2 contingency-table scores
// (POD, FAR, CSI/TS, ETS, frequency bias). Accumulators merge exactly, so runs can be pooled.
#pragma once

#include <cstdint>
#include <vector>

namespace qinling::models {

// The 24-hour precipitation grades of GB/T 28592-2012 (mm): light rain and above … .
inline const std::vector<double> kCmaPrecipitationThresholds{0.1, 10, 25, 50, 100, 250};

struct ContinuousSums {
  std::int64_t n = 0, within1 = 0, within2 = 0;  // pairs; pairs with |f − o| ≤ 1 and ≤ 2
  double sum_f = 0, sum_o = 0, sum_e = 0, sum_abs_e = 0, sum_e2 = 0, sum_f2 = 0, sum_o2 = 0, sum_fo = 0;
  void add(double f, double o);  // ignores pairs where either is NaN
  void merge(const ContinuousSums& other);
};

struct ContinuousScores {
  std::int64_t n = 0;
  double bias = 0, mae = 0, rmse = 0, correlation = 0;  // bias = mean(f − o); NaN when undefined
  double accuracy1 = 0, accuracy2 = 0;                  // share of |f − o| ≤ 1 and ≤ 2
};
ContinuousScores continuous_scores(const ContinuousSums& s);

// Event: value ≥ threshold (CMA grades count precipitation at or above the grade's lower bound).
struct Contingency {
  double threshold = 0;
  std::int64_t hits = 0, misses = 0, false_alarms = 0, correct_negatives = 0;
  void add(double f, double o);  // ignores pairs where either is NaN
  void merge(const Contingency& other);
  std::int64_t total() const { return hits + misses + false_alarms + correct_negatives; }
};

struct CategoricalScores {
  double pod = 0, far = 0, csi = 0, ets = 0, frequency_bias = 0, accuracy = 0;  // NaN when undefined
};
CategoricalScores categorical_scores(const Contingency& c);

}  // namespace qinling::models
