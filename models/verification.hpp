// Forecast verification scores from partial sums (no GDAL): continuous scores (bias, MAE, RMSE,
// correlation, the CMA temperature accuracy within ±1/±2 °C) and 2×2 contingency-table scores
// (POD, FAR, CSI/TS, ETS, frequency bias). Accumulators merge exactly, so runs can be pooled.
#pragma once

#include <cstdint>
#include <utility>
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

// Everything one verification accumulates: the continuous sums and one table per threshold. Sums
// of disjoint pair sets merge exactly (per lead time, per window, per run).
struct ScoreSums {
  ContinuousSums cont;
  std::vector<Contingency> cat;
  ScoreSums() = default;
  explicit ScoreSums(const std::vector<double>& thresholds);
  void add(double f, double o);
  void merge(const ScoreSums& other);  // `other` has the same thresholds
};

// Fractions skill score (Roberts & Lean 2008) for one threshold and one square window of `window`
// cells (odd) centred on each cell. A cell counts when both fields are valid there; Pf and Po are the
// shares of valid cells of the window with a value >= threshold, the window clipped to the grid (cells
// outside the grid are not counted, so edge windows are smaller, not padded with zeros). The sums run
// over every valid centre cell, so sums of disjoint runs (or grids) merge exactly.
struct FssSums {
  double threshold = 0;
  int window = 1;
  std::int64_t n = 0;                          // centre cells
  double sum_d2 = 0, sum_f2 = 0, sum_o2 = 0;  // Σ(Pf − Po)², ΣPf², ΣPo²
  void merge(const FssSums& other);
};
// FSS = 1 − Σ(Pf − Po)² / (ΣPf² + ΣPo²); NaN when neither field has an event anywhere.
double fss(const FssSums& s);

// Summed-area tables ((width + 1) × (height + 1) 32-bit counts) of the cells where both fields are
// valid and of the valid cells >= threshold in each: any window's counts in O(1).
struct FssTables {
  int width = 0, height = 0;
  double threshold = 0;
  std::vector<std::uint32_t> valid, forecast, observed;
};
// `f`, `o`: whole row-major fields of width × height, NaN = missing.
FssTables fss_tables(const float* f, const float* o, int width, int height, double threshold);
// The sums for one window over the centre cells of rows [row_begin, row_end): row blocks are
// independent, so they can run in parallel and merge in row order.
FssSums fss_window_sums(const FssTables& t, int window, int row_begin, int row_end);
// The same sums split by the label of the centre cell (`labels`: one per cell of the whole grid, row-major;
// < 0: counted nowhere), ascending by label. The neighbourhoods are not cut at label edges, so the sums of
// all labels add up to fss_window_sums over the labelled cells. `whole`, when given, gets fss_window_sums
// itself (bit for bit) from the same pass.
std::vector<std::pair<int, FssSums>> fss_window_sums_by_label(const FssTables& t, int window, int row_begin,
                                                              int row_end, const std::int32_t* labels,
                                                              FssSums* whole = nullptr);
// Every (threshold, window) pair, threshold-major, over the whole grid (one thread).
std::vector<FssSums> fss_sums(const float* f, const float* o, int width, int height,
                              const std::vector<double>& thresholds, const std::vector<int>& windows);

}  // namespace qinling::models
