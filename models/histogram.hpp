// A fixed-bin histogram for streamed percentiles: add values block by block on any thread, merge
// (counts are integers, so the result never depends on the order), then read percentiles.
#pragma once

#include <cstdint>
#include <vector>

namespace qinling::models {

class ValueHistogram {
 public:
  // `bins` equal bins over [lo, hi]; values outside are clamped into the end bins, NaN ignored.
  ValueHistogram(double lo, double hi, int bins);
  void add(float v) {
    if (v != v) return;  // NaN
    const double t = (double(v) - lo_) * scale_;
    const std::int64_t b = t < 0 ? 0 : t >= double(counts_.size()) ? std::int64_t(counts_.size()) - 1 : std::int64_t(t);
    ++counts_[std::size_t(b)];
    ++total_;
  }
  void merge(const ValueHistogram& other);
  std::uint64_t count() const { return total_; }
  // The p-th percentile (0–100) by linear interpolation inside the bin that holds it; its error is
  // at most one bin width. NaN when empty.
  double percentile(double p) const;

 private:
  double lo_, hi_, scale_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
};

// Dimidiate pixel model (Gutman & Ignatov 1998): FVC = (NDVI - NDVIsoil) / (NDVIveg - NDVIsoil),
// clamped to [0, 1]; NaN stays NaN.
inline float fvc(float ndvi, double soil, double veg) {
  if (ndvi != ndvi) return ndvi;
  const double f = (double(ndvi) - soil) / (veg - soil);
  return float(f < 0 ? 0 : f > 1 ? 1 : f);
}

}  // namespace qinling::models
