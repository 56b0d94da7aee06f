// Coverage-weighted statistics accumulators for zonal statistics: add(value, weight), merge, finish.
//
// Every pixel enters with the fraction of it the zone covers as weight. Accumulators of the same
// zone are merged in a fixed order (block order), so results never depend on thread scheduling.
//
// Quantiles (median, pNN): each accumulator keeps the exact (value, weight) pairs of its pixels
// until it holds `bins / 2` of them, then folds them into a fixed histogram of `bins` bins over
// [hist_min, hist_max] (values outside go to the end bins; quantiles are clamped to the exact
// min and max). So small cells (the 10^6-cell case: a 100 m cell holds ~16 pixels of 30 m) get
// exact weighted quantiles, and memory stays bounded by cells × 4·bins bytes however large the
// raster is; large cells get quantiles to a bin width ((hist_max - hist_min) / bins, linear
// within the bin). The weighted quantile interpolates between the mid-points of cumulative
// weight (for equal weights this is numpy's `percentile(..., method="hazen")`).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace qinling::models {

enum class StatKind {
  count,           // Σ coverage of valid pixels (in pixels)
  valid_fraction,  // Σ coverage of valid pixels / Σ coverage of all pixels
  sum,             // Σ coverage · value
  mean,
  min,
  max,
  stddev,  // weighted population standard deviation
  median,
  percentile,  // arg: 0..100
  frac_above,  // share of the valid covered area with value > arg
  frac_below,  // share of the valid covered area with value < arg
  majority,    // class (value rounded to an integer) with the largest covered area
  minority,
  variety,    // number of distinct classes
  histogram,  // text "class:share;…" over the valid covered area
};

// One requested statistic and the column it goes to.
struct StatRequest {
  StatKind kind = StatKind::mean;
  double arg = 0;
  std::string column;
  bool is_text() const { return kind == StatKind::histogram; }
};

// Parses "mean", "p10", "median", "frac_below(-0.2)", "name=frac_above(0.5)"… Throws
// ConfigError with a message listing what is allowed.
StatRequest parse_stat(const std::string& text);
// The names `parse_stat` accepts (for documentation and error messages).
std::string stat_names();

// What every accumulator of one run needs to know (shared, read-only).
struct AccumulatorConfig {
  std::vector<double> above, below;  // thresholds of frac_above / frac_below
  bool quantiles = false;
  bool classes = false;
  int bins = 256;
  double hist_min = -1, hist_max = 1;
  // The thresholds and needs of `requests`; each frac_* request gets an index into above/below.
  static AccumulatorConfig from(const std::vector<StatRequest>& requests, int bins, double hist_min,
                                double hist_max);
};

class StatsAccumulator {
 public:
  explicit StatsAccumulator(const AccumulatorConfig* config = nullptr);
  StatsAccumulator(StatsAccumulator&&) noexcept;
  StatsAccumulator& operator=(StatsAccumulator&&) noexcept;
  StatsAccumulator(const StatsAccumulator& other);
  StatsAccumulator& operator=(const StatsAccumulator& other);
  ~StatsAccumulator();

  // A pixel covered by `weight` (0..1]; a NaN value counts as nodata.
  void add(double value, double weight) {
    if (!(weight > 0)) return;
    total_weight_ += weight;
    if (value != value) return;
    add_valid(value, weight);
  }
  // Adds `other` (call in a fixed order for reproducible sums).
  void merge(const StatsAccumulator& other);

  double total_weight() const { return total_weight_; }
  double count() const { return weight_; }
  double valid_fraction() const { return total_weight_ > 0 ? weight_ / total_weight_ : 0.0; }
  double sum() const { return sum_; }
  double mean() const;
  double min() const;
  double max() const;
  double stddev() const;
  // q in [0, 1]; NaN when no valid pixel.
  double quantile(double q) const;
  double fraction_above(std::size_t threshold_index) const;
  double fraction_below(std::size_t threshold_index) const;
  // Classes and their covered weight, ascending by class.
  std::vector<std::pair<std::int64_t, double>> classes() const;
  // The value of `r` as a number (NaN when undefined, e.g. the mean of a cell without data).
  double finish(const StatRequest& r, std::size_t threshold_index) const;
  // The text of a text statistic (histogram).
  std::string finish_text(const StatRequest& r) const;
  // True while quantiles come from exact values (not yet folded into the histogram).
  bool exact_quantiles() const;
  // The exact state as bytes (appended to `out`), so that a partial sum made by another process
  // merges to the same bits as one made here. `read` consumes one from `p` (advanced; throws
  // ProcessingError past `end`); the config must be the same as the writer's.
  void write(std::string& out) const;
  static StatsAccumulator read(const char*& p, const char* end, const AccumulatorConfig* config);

 private:
  struct Extra;
  void add_valid(double value, double weight);
  Extra& extra();
  const AccumulatorConfig* config_ = nullptr;
  double total_weight_ = 0, weight_ = 0, sum_ = 0, mean_ = 0, m2_ = 0;
  double min_ = 0, max_ = 0;
  std::unique_ptr<Extra> extra_;
};

}  // namespace qinling::models
