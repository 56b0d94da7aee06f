#include "models/histogram.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace qinling::models {

ValueHistogram::ValueHistogram(double lo, double hi, int bins)
    : lo_(lo), hi_(hi), scale_(bins / (hi - lo)), counts_(std::size_t(bins), 0) {
  if (!(hi > lo) || bins < 1) throw std::invalid_argument("histogram needs lo < hi and at least one bin");
}

void ValueHistogram::merge(const ValueHistogram& other) {
  if (other.counts_.size() != counts_.size() || other.lo_ != lo_ || other.hi_ != hi_)
    throw std::invalid_argument("cannot merge histograms with different bins");
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
}

double ValueHistogram::percentile(double p) const {
  if (total_ == 0) return NAN;
  const double target = std::clamp(p, 0.0, 100.0) / 100.0 * double(total_);
  const double width = (hi_ - lo_) / double(counts_.size());
  double below = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    const double c = double(counts_[i]);
    if (c > 0 && below + c >= target) return lo_ + width * (double(i) + (target - below) / c);
    below += c;
  }
  return hi_;
}

}  // namespace qinling::models
