// 8-connected patches of equal value, labelled row by row in two streamed passes (count, then
// look up each pixel's patch size), so a minimum mapping unit needs no whole-raster label image.
#pragma once

#include <cstdint>
#include <vector>

namespace qinling::models {

// Feed every row in order with count_row(), call finish(), then feed the same rows again in the
// same order with size_row(). Memory: the previous row plus 8 bytes per provisional label (one
// per run of equal pixels that touches no earlier run), independent of the raster's height.
class PatchLabeller {
 public:
  // Pixels equal to `background` or NaN belong to no patch.
  PatchLabeller(int width, double background);
  void count_row(const float* row);
  void finish();
  // Writes each pixel's patch size in pixels (0 for background and NaN).
  void size_row(const float* row, std::uint32_t* sizes);
  std::size_t labels() const { return parent_.size(); }

 private:
  std::uint32_t find(std::uint32_t x);
  bool is_patch(float v) const { return v == v && double(v) != background_; }

  int width_;
  double background_;
  std::uint32_t next_label_ = 0;  // pass 2: the next provisional label, in creation order
  std::vector<float> prev_values_;
  std::vector<std::uint32_t> prev_, cur_;  // labels; kNone for no patch
  std::vector<std::uint32_t> parent_, size_;
};

}  // namespace qinling::models
